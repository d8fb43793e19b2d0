// The local server's voice heard by its own listen side (text → speak → listen), and `deepgram-stream speak`.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createListenStream, createSpeakStream, type ResultsMessage } from '../../lib/index.js';
import { parseWavHeader } from '../../lib/audio/wav.js';
import { wordTimes } from '../../lib/server/voice.js';
import { cli, collector, decodeToSamples, finals, LINEAR16, readAll, runMain, serve, until } from '../helpers.js';

const TEXT = 'Hello there. How are you today? I am fine, thank you.';

t.test('text → speak → listen on the local server: every word heard, at the times it was spoken', async (t) => {
  const script = TEXT.replace(/[.,?]/g, '');
  const server = await serve(t, { script });
  const speak = createSpeakStream({ url: server.url, query: { model: 'aura-2-thalia-en', ...LINEAR16 } });
  const audio = collector<Buffer>();
  await pipeline(Readable.from([TEXT]), speak, audio);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  listen.end(Buffer.concat(audio.messages));
  const heard = finals(await readAll(listen)).flatMap((m: ResultsMessage) => m.channel.alternatives[0].words);
  t.same(
    heard.map((w) => w.word),
    script.toLowerCase().split(' '),
    'the words, in order',
  );
  // Where each word was spoken: the sum of the sounds and pauses before it.
  let at = 0;
  const spoken = wordTimes(TEXT).map(({ sound, pause }) => {
    const start = at;
    at += sound + pause;
    return start;
  });
  const off = heard.map((w, i) => Math.abs(w.start - spoken[i]));
  t.ok(Math.max(...off) <= 0.04, `each word starts within 40 ms of where it was spoken (worst ${Math.max(...off)} s)`);
});

t.test('deepgram-stream speak: a playable WAV from arguments, raw audio from standard input lines', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'hello.wav');
  const file = await runMain(['speak', 'Hello there.', 'How are you?', '--out', out, '--sample_rate', '16000']);
  t.equal(file.code, 0, file.err);
  t.match(file.err, /local server: its voice is a synthetic stand-in[\s\S]*hello\.wav: \d\.\d\d s of audio/);
  const wav = readFileSync(out);
  const header = parseWavHeader(wav);
  t.match(header, { format: 1, channels: 1, sampleRate: 16000, bitsPerSample: 16, dataOffset: 44 });
  t.equal(wav.readUInt32LE(40), wav.length - 44, 'the data size is the audio that followed');
  t.equal(decodeToSamples(wav).length, (wav.length - 44) / 2, 'FFmpeg decodes every sample');

  const piped = cli(['speak', '--encoding', 'mulaw'], { input: Buffer.from('One line.\n\nAnother line.\n') });
  const { status, stdout, stderr } = await piped.done;
  t.equal(status, 0, stderr);
  t.ok(stdout.length > 8000, `${stdout.length} bytes of µ-law on standard output`);

  const empty = await runMain(['speak'], { stdin: Buffer.from('\n  \n') });
  t.equal(empty.code, 1, 'no text is an error, never an empty success');
  t.match(empty.err, /nothing to say/);
  const bad = await runMain(['speak', 'Hi.', '--encoding', 'mulaw', '--sample_rate', '24000']);
  t.equal(bad.code, 2);
  t.match(bad.err, /sample_rate=24000: mulaw takes 8000, 16000/);
  const tty = await runMain(['speak', 'Hi.'], { stdoutTty: true });
  t.equal(tty.code, 2, 'raw audio is never written to a terminal');
});

t.test('deepgram-stream speak: the first Ctrl-C ends standard input, and what was read is still said', async (t) => {
  const run = cli(['speak'], { openStdin: true });
  run.child.stdin.write('A first reply, said in full.\n');
  await until(() => run.output().length > 0, 'audio for the first line', 20_000);
  run.child.kill('SIGINT');
  const { status, stdout } = await run.done;
  t.equal(status, 0, 'a graceful end');
  t.ok(stdout.length > 32_000, `${stdout.length} bytes: the line read before Ctrl-C was said`);
});
