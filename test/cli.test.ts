import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cli, fixture, LINEAR16, readAll, runMain, serve, tones, until, withEnv } from './helpers.js';
import { createListenStream, type DeepgramError } from '../lib/index.js';

const run = (args: string[], stdin?: Buffer, stop?: Promise<void>, tty = false) => runMain(args, { stdin, stop, tty });

t.test('transcribe with no key uses the embedded local server and says its words are synthetic', async (t) => {
  const saved = process.env.DEEPGRAM_API_KEY;
  delete process.env.DEEPGRAM_API_KEY;
  t.teardown(() => {
    if (saved !== undefined) process.env.DEEPGRAM_API_KEY = saved;
  });
  const { code, out, err } = await run(['transcribe', fixture('speech.wav')]);
  t.equal(code, 0);
  t.match(err, /embedded local server: its words are synthetic/);
  t.match(out, /^hello world\nthis is a\n/, 'the sidecar speech.txt gives the words, a line per utterance');
});

t.test('every format, with listen flags, against a server given by --url', async (t) => {
  const server = await serve(t, { script: 'Alpha beta gamma delta.' });
  const url = ['--url', server.url];
  const srt = await run(['transcribe', ...url, '--format', 'srt', '--diarize', '--punctuate', fixture('speech.ogg')]);
  t.match(srt.out, /^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\nSpeaker 0: Alpha/);
  const vtt = await run(['transcribe', ...url, '--format', 'vtt', fixture('speech.mp3')]);
  t.match(vtt.out, /^WEBVTT\n\n00:00:00\.\d{3} --> /);
  const ndjson = await run(['transcribe', ...url, '--format', 'ndjson', '--interim_results', fixture('speech.flac')]);
  const lines = ndjson.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.ok(
    lines.some((m) => m.type === 'Results' && !m.is_final),
    'interim results were asked for and came',
  );
  t.equal(lines[lines.length - 1].type, 'Metadata');
  const json = await run(['transcribe', ...url, '--format', 'json', fixture('speech.webm')]);
  const doc = JSON.parse(json.out);
  t.match(doc.transcript, /^alpha beta gamma delta alpha/);
  t.equal(doc.metadata.type, 'Metadata');
  t.ok(doc.results.every((r: { is_final: boolean }) => r.is_final));
});

t.test('standard input with -', async (t) => {
  const server = await serve(t, { script: 'from standard input' });
  const { code, out } = await run(['transcribe', '--url', server.url, '-'], readFileSync(fixture('speech.wav')));
  t.equal(code, 0);
  t.match(out, /^from standard/);
});

t.test('many files into --out: one clear line per failure, the others go on, exit 1', async (t) => {
  const server = await serve(t);
  const dir = mkdtempSync(join(tmpdir(), 'dgs-'));
  const { code, err } = await run([
    'transcribe',
    '--url',
    server.url,
    '--out',
    dir,
    '--format',
    'srt',
    fixture('missing.wav'),
    fixture('speech.wav'),
    fixture('speech.txt'),
    fixture('speech.m4a'),
  ]);
  t.equal(code, 1);
  const written = readdirSync(join(dir, 'test', 'fixtures')).sort();
  t.same(
    written,
    ['speech.m4a.srt', 'speech.wav.srt'],
    "complete outputs only, mirroring the inputs' paths, no temporary files",
  );
  const lines = err.trim().split('\n');
  t.equal(lines.length, 3, 'a line per failure, and the summary');
  t.ok(lines.some((l) => /missing\.wav: ENOENT/.test(l)));
  t.ok(lines.some((l) => /speech\.txt: FFmpeg could not decode the input/.test(l)));
  t.match(
    lines[2],
    /^deepgram-stream: 4 files \(2 done, 0 skipped, 2 failed\), 0\.004 audio hours in [\d.]+ s, [\d.]+x real time$/,
  );
  const one = await run([
    'transcribe',
    '--url',
    server.url,
    '--out',
    mkdtempSync(join(tmpdir(), 'dgs-')),
    fixture('speech.wav'),
  ]);
  t.match(one.err, /^deepgram-stream: 1 file \(1 done, /m, '"1 file", not "1 files"');
});

t.test(
  'progress bars on a terminal (audio against the length where known, files done, time left), quiet otherwise',
  async (t) => {
    const server = await serve(t, { realtimeFactor: 30 });
    const files = ['speech.wav', 'speech.ogg', 'speech.mp3', 'speech.flac'].map((f) => fixture(f));
    const tty = await run(
      ['transcribe', '--url', server.url, '--out', mkdtempSync(join(tmpdir(), 'dgs-')), ...files],
      undefined,
      undefined,
      true,
    );
    t.equal(tty.code, 0);
    t.match(
      tty.err,
      /speech\.(wav|ogg|mp3) +\[#+-*\] +\d+% \d+\.\d s/,
      'a bar per file: bytes read and seconds transcribed',
    );
    t.match(tty.err, /speech\.wav +\[#*-*\] +\d+% \d+\.\d\/7\.7 s/, 'WAV: seconds transcribed of its 7.7');
    t.match(tty.err, /speech\.flac +\[#*-*\] +\d+% \d+\.\d\/7\.7 s/, 'FLAC: the same, from STREAMINFO');
    t.match(tty.err, /[0-4]\/4 files, 0:\d\d elapsed, about (\d+:\d\d|\?) left/);
    t.match(tty.err, /\x1b\[\d+A/, 'redrawn in place');
    t.match(tty.err, /4 files \(4 done, 0 skipped, 0 failed\)/);
    const plain = await run([
      'transcribe',
      '--url',
      server.url,
      '--out',
      mkdtempSync(join(tmpdir(), 'dgs-')),
      ...files,
    ]);
    t.notMatch(plain.err, /\[#|\x1b/, 'no bars when stderr is not a terminal');
    t.match(plain.err, /^deepgram-stream: 4 files \(4 done/, 'just the summary');
  },
);

t.test('a refused key is one clear line', async (t) => {
  const server = await serve(t, { apiKey: 'good' });
  // A key that no request id (hex) can contain: 'bad' was found in one ("…-bade-…").
  const key = 'wrong-key-xyz';
  const { code, err } = await run(['transcribe', '--url', server.url, '--api-key', key, fixture('speech.wav')]);
  t.equal(code, 1);
  t.match(err, /speech\.wav: Deepgram refused the connection: 401 Invalid credentials\./);
  t.notMatch(err, new RegExp(key), 'the key is not echoed');
});

t.test('usage errors exit 2 with the usage', async (t) => {
  for (const args of [
    ['bogus'],
    ['transcribe'],
    ['transcribe', '--format', 'doc', 'x.wav'],
    ['transcribe', 'a.wav', 'b.wav'],
    ['transcribe', '--nope', 'x'],
  ]) {
    const { code, err } = await run(args);
    t.equal(code, 2, args.join(' '));
    t.match(err, /Usage:/);
  }
  t.match((await run(['--help'])).out, /^Usage: deepgram-stream COMMAND[^]*\n  transcribe /);
});

t.test('serve runs the local server until stopped, naming its paths and each session as it ends', async (t) => {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let url: string | undefined;
  let logged = () => {};
  const sessionLine = new Promise<void>((resolve) => (logged = resolve));
  const running = runMain(['serve', '--port', '0', '--realtime-factor', 'off', '--max-connections', '1'], {
    stop: stopped,
    watch: (out, err) => {
      url ??= /server on (ws:\S+?): \//.exec(out)?.[1];
      if (/\/v1\/listen session [0-9a-f-]{36}: 32000 bytes of audio, closed 1000/.test(err)) logged();
    },
  });
  await until(() => url !== undefined, 'serve said where it is');
  const listen = createListenStream({ url, query: LINEAR16 });
  await once(listen, 'open');
  // --max-connections 1: a second session at once is refused with 429.
  const second = createListenStream({ url, query: LINEAR16 });
  second.resume();
  const [refused] = (await once(second, 'error')) as [DeepgramError];
  t.equal(refused.status, 429, '--max-connections is kept');
  listen.end(tones([1]));
  await readAll(listen);
  await sessionLine;
  stop();
  const { code, out } = await running;
  t.equal(code, 0);
  t.match(out, /local server on ws:\/\/127\.0\.0\.1:\d+: \/v1\/listen, Flux's \/v2\/listen and \/v1\/speak/);
});

t.test('bad flags are checked before anything starts: exit 2 with the reason, never a hang', async (t) => {
  const file = fixture('speech.wav');
  const cases: [string[], RegExp][] = [
    [
      ['--concurrency', 'abc', '--out', '/tmp/x', file, file],
      /--concurrency takes a whole number of at least 1, not "abc"/,
    ],
    [
      ['--concurrency', '0', '--out', '/tmp/x', file, file],
      /--concurrency takes a whole number of at least 1, not "0"/,
    ],
    [['--retries', 'x', file], /--retries takes a whole number, not "x"/],
    [['--pace', 'abc', file], /--pace takes a number above 0, not "abc"/],
    [['--pace', '0', file], /--pace takes a number above 0/],
    [['--decode', 'sometimes', file], /--decode must be one of auto, always, not "sometimes"/],
    [['--out', '/tmp/x', '-'], /- \(standard input\) goes to standard output: leave out --out/],
    [['--sample_rate', '8000', file], /give --encoding too/],
  ];
  // With no key, so an embedded server would have been started first: each in this process, and the first and last
  // also as real processes that must exit by themselves (two at a time: ten children compiling TypeScript at once
  // outran the kill switch on a loaded machine).
  const saved = process.env.DEEPGRAM_API_KEY;
  delete process.env.DEEPGRAM_API_KEY;
  t.teardown(() => {
    if (saved !== undefined) process.env.DEEPGRAM_API_KEY = saved;
  });
  for (const [args, message] of cases) {
    const { code, err } = await run(['transcribe', ...args]);
    t.equal(code, 2, `${args.join(' ')}: exit 2`);
    t.match(err, message);
    t.notMatch(err, /so using the embedded local server/, 'nothing was started');
  }
  const real = [cases[0], cases[cases.length - 1]];
  const runs = await Promise.all(real.map(([args]) => cli(['transcribe', ...args], { timeout: 60_000 }).done));
  runs.forEach((child, i) => {
    t.equal(child.status, 2, `${real[i][0].join(' ')}: a real process exits 2`);
    t.match(child.stderr, real[i][1]);
  });
});

t.test('--help for each command and --version', async (t) => {
  for (const command of ['transcribe', 'speak', 'serve', 'relay', 'latency', 'enqueue', 'worker']) {
    const { code, out } = await run([command, '--help']);
    t.equal(code, 0, `${command} --help`);
    t.match(out, new RegExp(`^Usage: deepgram-stream ${command}`));
  }
  t.match((await run(['--version'])).out, /^\d+\.\d+\.\d+\nFFmpeg: ffmpeg version \S+ \(\/\S+\)\n$/);
  // As real processes: help, -V, and no command at all.
  const [help, helpRelay, short, none] = await Promise.all(
    [['help'], ['help', 'relay'], ['-V'], []].map((args) => cli(args, { timeout: 60_000 }).done),
  );
  t.equal(help.status, 0);
  t.match(help.stdout, /^Usage: deepgram-stream COMMAND \[options\]\n\n {2}transcribe {2}files, URLs/);
  t.match(helpRelay.stdout, /^Usage: deepgram-stream relay \[options\]/);
  t.match(short.stdout, /^\d+\.\d+\.\d+\nFFmpeg: ffmpeg version/);
  t.equal(none.status, 2, 'no command: exit 2');
  t.match(none.stderr, /^Usage: deepgram-stream COMMAND/, 'the usage on stderr');
  t.equal(none.stdout, '');
  const insecure = await run(['transcribe', '--url', 'ws://example.org', '--api-key', 'k', fixture('speech.wav')]);
  t.equal(insecure.code, 2, 'the URL and the key are checked once, before anything starts');
  t.match(insecure.err, /set allowInsecure: true \(--allow-insecure on the command line\)/, 'the hint names the flag');
  t.equal(insecure.err.match(/in clear/g)?.length, 1, 'said once, not once per file');
  const scheme = await run(['transcribe', '--url', 'ftp://example.org', fixture('speech.wav')]);
  t.equal(scheme.code, 2);
  t.match(scheme.err, /^deepgram-stream: --url: url must be ws:\/\/ or wss:\/\/, not ftp:/);
});

t.test('an MP4 with its index at the end, from a file, standard input and a URL', async (t) => {
  const server = await serve(t, { script: 'alpha beta gamma delta' });
  const bytes = readFileSync(fixture('speech-index-at-end.m4a'));
  const http = createServer((_req, res) => res.end(bytes)).listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.teardown(() => http.close());
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/call.m4a`;
  for (const [name, args, stdin] of [
    ['file', [fixture('speech-index-at-end.m4a')]],
    ['stdin', ['-'], bytes],
    ['url', [url]],
  ] as const) {
    const { code, out } = await run(['transcribe', '--url', server.url, ...args], stdin);
    t.equal(code, 0, name);
    t.match(out, /^alpha beta\ngamma delta/, `${name}: the words`);
  }
});

t.test('empty input is an error with a non-zero exit', async (t) => {
  const server = await serve(t);
  const { code, out, err } = await run(['transcribe', '--url', server.url, '-'], Buffer.alloc(0));
  t.equal(code, 1);
  t.equal(out, '');
  t.match(err, /^deepgram-stream: -: the input is empty \(0 bytes\)/);
});

t.test('a reader that goes away (| head -1) ends the command quietly', async (t) => {
  const server = await serve(t, { script: 'one two three four five six seven eight nine ten' });
  const running = cli([
    'transcribe',
    '--url',
    server.url,
    '--format',
    'ndjson',
    '--interim_results',
    fixture('speech.wav'),
  ]);
  running.child.stdout.once('data', () => running.child.stdout.destroy()); // read one chunk, then close the pipe
  const { status, stderr } = await running.done;
  t.equal(status, 0);
  t.equal(stderr, '', 'no EPIPE stack trace');
});

t.test('live from a pipe: the first Ctrl-C ends standard input gracefully, the second stops at once', async (t) => {
  const server = await serve(t, { script: 'hello world this is a test', realtimeFactor: 1.25 });
  const wav = readFileSync(fixture('speech.wav'));
  // Audio at five times real time, until `ready` (the child compiles its TypeScript first, then prints).
  const feed = async (run: ReturnType<typeof cli>, ready: () => boolean) => {
    for (let at = 0; at < wav.length && !ready(); at += 3200) {
      run.child.stdin.write(wav.subarray(at, at + 3200));
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 750 && !ready(); i++) await new Promise((r) => setTimeout(r, 20));
  };
  const graceful = cli(['transcribe', '--url', server.url, '-'], { openStdin: true });
  await feed(graceful, () => graceful.output().length > 0);
  graceful.child.kill('SIGINT');
  const ended = await graceful.done;
  t.equal(ended.status, 0, 'exit 0');
  t.match(ended.stdout, /^hello world\n/, 'the finals of what was sent are printed');
  t.equal(ended.stderr, '', 'and nothing went wrong');

  const hanging = await serve(t, { faults: { hangOnClose: true }, script: 'one two three' });
  const stuck = cli(['transcribe', '--url', hanging.url, '--format', 'ndjson', '--interim_results', '-'], {
    openStdin: true,
  });
  await feed(stuck, () => stuck.output().length > 0);
  stuck.child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 500)); // CloseStream is out, and the server never answers
  stuck.child.kill('SIGINT');
  t.equal((await stuck.done).status, 130, 'the second Ctrl-C stops at once');
});

t.test(
  'a file stops at once on the first signal, with the status a shell gives it: 130 for SIGINT, 143 for SIGTERM',
  async (t) => {
    const server = await serve(t, { script: 'hello world this is a test' });
    for (const [signal, status] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      // Paced at real time: 7.7 s of speech, stopped as soon as its first final is out.
      const run = cli(['transcribe', '--url', server.url, '--pace', '1', fixture('speech.wav')]);
      await until(() => run.output().length > 0, 'a first final', 15_000);
      run.child.kill(signal);
      const ended = await run.done;
      t.equal(ended.status, status, `${signal}: exit ${status}`);
      t.equal(ended.stderr, '', 'no error printed: the user asked it to stop');
    }
  },
);

t.test('on a terminal, text is live: interims rewrite one grey line, finals print as lines', async (t) => {
  withEnv(t, { NO_COLOR: undefined }); // tap sets it for its tests
  const server = await serve(t, { script: 'alpha beta gamma delta epsilon zeta' });
  const { code, out } = await run(
    ['transcribe', '--url', server.url, fixture('speech.wav')],
    undefined,
    undefined,
    false,
  );
  t.equal(code, 0);
  t.notMatch(out, /\x1b/, 'not a terminal: plain lines');
  const live = await runMain(['transcribe', '--url', server.url, fixture('speech.wav')], { stdoutTty: true });
  t.equal(live.code, 0);
  t.match(live.out, /\x1b\[90m[a-z ]+\x1b\[0m/, 'an interim, grey');
  t.match(live.out, /\r\x1b\[2K[a-z ]+\n/, 'a final replaces it as a line');
  t.equal(
    live.out
      .replace(/\r\x1b\[2K|\x1b\[90m[^\x1b]*\x1b\[0m/g, '')
      .split('\n')
      .filter(Boolean)[0],
    'alpha beta',
  );
  process.env.NO_COLOR = '1';
  const plain = await runMain(['transcribe', '--url', server.url, fixture('speech.wav')], { stdoutTty: true });
  t.notMatch(plain.out, /\x1b\[90m/, 'NO_COLOR: no grey');
  t.match(plain.out, /\r\x1b\[2K[a-z ]+\n/, 'the line is still rewritten in place');
});

t.test('a real-time pipe: the first text comes while the audio is still being spoken, not at its end', async (t) => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const cases = [
    ['a WAV', 'speech.wav', []],
    ['headerless linear16', 'speech.raw', ['--encoding', 'linear16', '--sample_rate', '16000']],
  ] as const;
  await Promise.all(
    cases.map(async ([what, file, flags]) => {
      const audio = readFileSync(fixture(file));
      const run = cli(['transcribe', '--format', 'ndjson', ...flags, '-'], { openStdin: true });
      let ready = false; // the child has started its embedded server: the clock starts now
      run.child.stderr.on('data', (c) => (ready ||= /local server/.test(String(c))));
      await until(() => ready, 'the command started');
      // 20 ms of audio every 20 ms of wall time, as a capture device writes it, until the first text: the figure is
      // audio sent by then. The input then ends early, which is fine.
      const started = performance.now();
      let sent = 0;
      let firstText: number | undefined;
      while (sent < audio.length && firstText === undefined) {
        if (run.output().includes('"Results"')) firstText = sent / 32000;
        const due = Math.min(audio.length, Math.round(((performance.now() - started) / 1000) * 32000) & ~1);
        if (due > sent) run.child.stdin.write(audio.subarray(sent, due));
        sent = Math.max(sent, due);
        await sleep(20);
      }
      run.child.stdin.end();
      t.equal((await run.done).status, 0);
      t.ok(firstText !== undefined, `${what}: text came before the input ended`);
      t.ok(firstText! < 3, `${what}: the first text came after ${firstText} s of the ${audio.length / 32000} s`);
    }),
  );
});

t.test('boolean flags turn off (--no-NAME, NAME false); a near-miss flag is named', async (t) => {
  const queries: URLSearchParams[] = [];
  const server = await serve(t, {
    script: (request) => (queries.push(new URL(request.url!, 'http://x').searchParams), 'a b'),
  });
  const file = fixture('speech.wav');
  for (const args of [
    ['--smart_format', 'false'],
    ['--no-smart_format'],
    ['--smart_format'],
    ['--smart_format', 'true'],
  ]) {
    const { code, err } = await run(['transcribe', '--url', server.url, ...args, file]);
    t.equal(code, 0, `${args.join(' ')} ${err}`);
  }
  t.same(
    queries.map((q) => q.get('smart_format')),
    ['false', 'false', 'true', 'true'],
    'what went on the wire',
  );
  const [near] = await Promise.all([cli(['transcribe', '--sample-rate', '8000', file], { timeout: 60_000 }).done]);
  t.equal(near.status, 2, 'a real process exits 2');
  t.match(near.stderr, /^deepgram-stream: unknown flag --sample-rate: did you mean --sample_rate\?/);
});

t.test('a Deepgram parameter the CLI does not know goes through with --param name=value', async (t) => {
  const queries: URLSearchParams[] = [];
  const server = await serve(t, {
    script: (request) => (queries.push(new URL(request.url!, 'http://x').searchParams), 'a b'),
  });
  const file = fixture('speech.wav');
  const args = ['--param', 'brand_new=yes', '--param', 'tag_list=a', '--param', 'tag_list=b=c'];
  const { code, err } = await run(['transcribe', '--url', server.url, ...args, file]);
  t.equal(code, 0, err);
  t.equal(queries[0].get('brand_new'), 'yes');
  t.same(queries[0].getAll('tag_list'), ['a', 'b=c'], 'repeated, and a value may hold "="');
  const unknown = await run(['transcribe', '--brand_new', 'yes', file]);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /unknown flag --brand_new: a Deepgram parameter this version does not know goes as --param/);
  // Commands that take no Deepgram parameters say the same, in the same words, without parseArgs's own.
  for (const command of ['serve', 'relay', 'speak', 'enqueue']) {
    const other = await run([command, '--bogus']);
    t.equal(other.code, 2, command);
    t.match(other.err, /^deepgram-stream: unknown flag --bogus\nUsage: /, command);
  }
  // An absurd worker count forks nothing: one line and the usage.
  const absurd = await run(['serve', '--workers', '100000']);
  t.equal(absurd.code, 2);
  t.match(absurd.err, /^deepgram-stream: --workers takes at most \d+ on this machine, not 100000\nUsage: /);
  const malformed = await run(['transcribe', '--param', 'novalue', file]);
  t.equal(malformed.code, 2);
  t.match(malformed.err, /--param takes name=value/);
});

t.test(
  'Ctrl-C on a paced pipe stops within a second, whatever --pace still holds, keeping the finals sent',
  async (t) => {
    const run = cli(['transcribe', '--pace', '1', '-'], { openStdin: true });
    run.child.stdin.write(readFileSync(fixture('speech.wav'))); // all of it at once: 7.7 s for the pacer to hold
    await until(() => run.output().length > 0, 'the first final', 20_000);
    const asked = performance.now();
    run.child.kill('SIGINT');
    const { status, stdout } = await run.done;
    const took = performance.now() - asked;
    t.equal(status, 0, 'a graceful end');
    t.ok(took < 1000, `stopped ${Math.round(took)} ms after Ctrl-C`);
    t.ok(stdout.trim().split('\n').length >= 1, 'the finals of what was sent are printed');
  },
);
