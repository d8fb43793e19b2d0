// Every README example marked `// example: NAME` runs for real, as a user would run it, against the built package.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const examples = [...readme.matchAll(/```js\n\/\/ example: (\S+)\n([\s\S]*?)```/g)].map(([, name, code]) => ({
  name,
  code,
}));

const expected: Record<string, RegExp> = {
  pipeline: /^[A-Z][a-z]+ [a-z ]+\.\n/,
  iterate: /^0 .*\n[\s\S]*\(finalized\)/,
  captions: /^\S+\/captions-\w+\/speech\.vtt\n$/,
  ndjson: /^1\n00:00:00,\d{3} --> /,
  errors: /^DG_HANDSHAKE 401 Invalid credentials\. [0-9a-f-]{36}\n$/,
  // Results come as each file finishes, so in either order.
  batch: new RegExp(
    [
      String.raw`(?=[\s\S]*^done test/fixtures/speech\.wav \S+/batch-\w+/test/fixtures/speech\.wav\.srt$)`,
      String.raw`(?=[\s\S]*^done test/fixtures/speech\.mp3 )`,
      String.raw`(?=[\s\S]*^failed test/fixtures/missing\.wav cannot read test/fixtures/missing\.wav: ENOENT)`,
    ].join(''),
    'm',
  ),
  reconnect: /^[a-z]+ [a-z]+\n/,
  twilio: /^CA1 [A-Z][a-z]+ [a-z]+\.?\n/,
  relay: /^[A-Z][a-z]+ [a-z ]+\.\n/,
  flux: new RegExp(
    String.raw`^turn 0 \(model\): Hello world\. \[reply ready\]\n` +
      // Every word of the script placed, as /v1 places them: the last turn ends with the script's last words.
      String.raw`turn 1 \(manual\): This is a test[^\n]*, in order, with its time\.\n2 turns, 7\.718313 s\n$`,
  ),
  workers: /^the same words from either worker\n$/,
  fluxhash: /^the hash of every byte written\n$/,
  speak: /^reply 0 fully spoken\n\S+\/speak-\w+\/reply\.wav\n$/,
  // The caller heard, the reply begun, then barge-in: the voice cleared and Twilio told to clear.
  voice: new RegExp(
    [
      String.raw`^caller: Hello world\.\n`,
      String.raw`(?=[\s\S]*^barge-in: the reply stopped$)`,
      String.raw`(?=[\s\S]*^twilio: cleared after the reply began$)`,
    ].join(''),
    'm',
  ),
  latency: new RegExp(
    String.raw`^audio: 7\.718 s, streamed at real-time pace\n` +
      String.raw`first words: \d+ ms after the audio began\nword to its final: p50 \d+ ms`,
  ),
};

t.test('the README examples run', async (t) => {
  t.same(examples.map((e) => e.name).sort(), Object.keys(expected).sort(), 'every example is checked');
  // The examples import the package by name, which resolves to the built files (test/build.ts built them).
  mkdirSync(`${root}.readme-examples`, { recursive: true });
  const tmp = t.testdir();
  // Side by side: each starts its own servers on port 0, and the slowest (latency, at real-time pace) sets the time.
  const runs = await Promise.all(
    examples.map(({ name, code }) => {
      const file = `${root}.readme-examples/${name}.mjs`;
      writeFileSync(file, code);
      const env = { ...process.env, DEEPGRAM_API_KEY: '', TMPDIR: tmp }; // their temporary files go with the test's
      return new Promise<{ name: string; status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [file], { cwd: root, timeout: 60_000, env }, (error, stdout, stderr) =>
          resolve({ name, status: error ? (child.exitCode ?? -1) : 0, stdout, stderr }),
        );
      });
    }),
  );
  const out: Record<string, string> = {};
  for (const { name, status, stdout, stderr } of runs) {
    t.equal(status, 0, `${name} exits 0 ${stderr}`);
    if (name === 'reconnect')
      t.match(stderr, /reconnect 1 after 1006[\s\S]*7\.718313 s in all/, 'it reconnected and covered the whole file');
    t.match(stdout, expected[name], `${name} prints what it should`);
    out[name] = stdout;
  }
  const captions = /^(\S+)\n/.exec(out.captions ?? '')?.[1] ?? '';
  t.match(
    captions && readFileSync(captions, 'utf8'),
    /^WEBVTT\n\n00:00:00\.\d{3} --> .*\n<v Speaker 0>/,
    'the captions example wrote WebVTT',
  );
  const wav = /(\S+\.wav)\n/.exec(out.speak ?? '')?.[1];
  const spoken = wav ? readFileSync(wav) : Buffer.alloc(0);
  t.equal(spoken.subarray(0, 4).toString(), 'RIFF', 'the speak example wrote a WAV');
  t.ok(spoken.length > 44 + 48000, `with ${spoken.length - 44} bytes of audio after its header`);
});
