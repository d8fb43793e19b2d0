import t from 'tap';
import { once } from 'node:events';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { outputName, transcribeMany, type FileResult, type Progress } from '../../lib/batch/many.js';
import { isRetryable } from '../../lib/listen/retry.js';
import { DeepgramError } from '../../lib/index.js';
import { descriptors, fixture, serve, until } from '../helpers.js';

const FILES = ['speech.wav', 'speech.mp3', 'speech.ogg', 'speech.flac', 'speech.webm', 'speech.m4a'].map(fixture);
const temp = () => mkdtempSync(join(tmpdir(), 'dgs-batch-'));
/** Every file under a folder, as sorted relative paths. */
const files = (dir: string) =>
  (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
async function all(iterable: AsyncIterable<FileResult>) {
  const results: FileResult[] = [];
  for await (const r of iterable) results.push(r);
  return results;
}

t.test('many files, a bounded number at once, each result as it finishes; a re-run skips what is done', async (t) => {
  let open = 0;
  let most = 0;
  const server = await serve(t, { script: () => ((most = Math.max(most, ++open)), undefined) });
  const counting = () => setInterval(() => (open = server.connections), 1);
  const timer = counting();
  const outDir = temp();
  const results = await all(transcribeMany(FILES, { url: server.url, concurrency: 3, outDir, format: 'srt' }));
  clearInterval(timer);
  t.equal(results.length, 6);
  t.ok(results.every((r) => r.status === 'done' && r.attempts === 1));
  t.ok(most <= 3, `never more than 3 streams at once (${most})`);
  t.same(files(outDir), FILES.map((f) => outputName(f, 'srt')).sort(), 'an output per file, no temporary files');
  t.ok(results.every((r) => Math.abs((r.audioSeconds ?? 0) - 7.73) < 0.05));
  const again = await all(transcribeMany(FILES, { url: server.url, outDir, format: 'srt' }));
  t.ok(
    again.every((r) => r.status === 'skipped' && r.attempts === 0),
    'finished files are not done twice',
  );
});

t.test('a crash (here, an abort) loses at most the files in flight; the re-run finishes the rest', async (t) => {
  const server = await serve(t, { realtimeFactor: 20 });
  const outDir = temp();
  const halfDone = join(outDir, `${outputName(FILES[0], 'json')}.999999999.x1y2.tmp`); // a process that is gone
  mkdirSync(dirname(halfDone), { recursive: true });
  writeFileSync(halfDone, 'half a file from a crashed run');
  const controller = new AbortController();
  const first: FileResult[] = [];
  for await (const r of transcribeMany(FILES, { url: server.url, concurrency: 2, outDir, signal: controller.signal })) {
    first.push(r);
    if (first.length === 2) controller.abort();
  }
  const done = first.filter((r) => r.status === 'done').length;
  t.ok(done >= 2, `${done} done before the abort`);
  t.ok(first.length <= 4, 'nothing new starts after the abort');
  const rest = await all(transcribeMany(FILES, { url: server.url, concurrency: 2, outDir }));
  t.equal(rest.filter((r) => r.status === 'skipped').length, done, 'what finished is kept');
  t.equal(rest.filter((r) => r.status === 'done').length, 6 - done, 'and the rest is done now');
  t.equal(files(outDir).filter((f) => f.endsWith('.json')).length, 6);
  t.notOk(
    files(outDir).some((f) => f.endsWith('.tmp')),
    'and what a killed run left behind is gone',
  );
});

t.test('breaking out of the loop, or an input iterator that throws, stops the jobs in flight', async (t) => {
  const server = await serve(t, { realtimeFactor: 1 }); // each whole file takes 7.7 s
  const settle = async () => {
    for (let i = 0; i < 150 && server.connections > 0; i++) await new Promise((r) => setTimeout(r, 20));
    return server.connections;
  };
  // A one-second cut of the WAV finishes first, while the two whole files are still being sent.
  const short = join(temp(), 'short.wav');
  writeFileSync(short, readFileSync(FILES[0]).subarray(0, 32_000));
  for await (const result of transcribeMany([short, FILES[1], FILES[2]], { url: server.url, concurrency: 3 })) {
    t.equal(result.status, 'done');
    break;
  }
  t.equal(await settle(), 0, 'breaking out stopped every stream still in flight');
  async function* throwing() {
    yield FILES[0];
    yield FILES[1];
    await new Promise((r) => setTimeout(r, 300));
    throw new Error('the input list broke');
  }
  await t.rejects(all(transcribeMany(throwing(), { url: server.url, concurrency: 3 })), /the input list broke/);
  t.equal(await settle(), 0, 'an input iterator that throws stops the streams it had started');
});

t.test(
  'an MP4 with its index at the end is done; an empty file fails with the reason, leaves no output, and is tried again',
  async (t) => {
    const server = await serve(t);
    const dir = temp();
    const empty = join(dir, 'empty.wav');
    writeFileSync(empty, '');
    const outDir = join(dir, 'out');
    const inputs = [fixture('speech-index-at-end.m4a'), empty];
    const results = await all(transcribeMany(inputs, { url: server.url, outDir, format: 'text' }));
    const byInput = new Map(results.map((r) => [r.input, r]));
    t.equal(byInput.get(inputs[0])?.status, 'done');
    t.ok(readFileSync(join(outDir, outputName(inputs[0], 'text')), 'utf8').length > 20);
    t.match(byInput.get(empty), { status: 'failed', attempts: 1, error: { code: 'DG_NO_AUDIO' } });
    t.notOk(
      files(outDir).some((f) => f.includes('empty')),
      'no output file for it',
    );
    const again = await all(transcribeMany([empty], { url: server.url, outDir, format: 'text' }));
    t.equal(again[0].status, 'failed', 'a re-run tries it again, and fails again');
  },
);

t.test('retries with backoff on 429 and 1011; fails fast on 401 and on input that is not audio', async (t) => {
  const busy = await serve(t, { maxConnections: 1, realtimeFactor: 30 });
  const crowded = await all(
    transcribeMany(FILES.slice(0, 3), {
      url: busy.url,
      concurrency: 3,
      retries: 20,
      backoff: { initial: 20, max: 200 },
    }),
  );
  t.ok(
    crowded.every((r) => r.status === 'done'),
    'every file got through a one-stream account',
  );
  t.ok(
    crowded.some((r) => r.attempts > 1),
    `by retrying its 429s (${crowded.map((r) => r.attempts)})`,
  );

  const flaky = await serve(t, { faults: ({ index }) => (index === 0 ? { net0000AfterMs: 1 } : undefined) });
  const [recovered] = await all(transcribeMany([FILES[0]], { url: flaky.url, backoff: { initial: 1 } }));
  t.match(recovered, { status: 'done', attempts: 2 }, String(recovered.error?.stack));

  const locked = await serve(t, { apiKey: 'right' });
  const [refused] = await all(
    transcribeMany([FILES[0]], { url: locked.url, apiKey: 'wrong', backoff: { initial: 1 } }),
  );
  t.match(refused, { status: 'failed', attempts: 1 });
  t.equal((refused.error as DeepgramError).status, 401);
  const [notAudio] = await all(transcribeMany([fixture('speech.txt')], { url: flaky.url, backoff: { initial: 1 } }));
  t.match(notAudio, {
    status: 'failed',
    attempts: 1,
    error: { code: 'DG_DECODE', message: /FFmpeg could not decode/ },
  });
  t.type(notAudio.error, DeepgramError, 'an undecodable file is a DeepgramError');
  // File descriptors this process holds on the input.
  const holding = (path: string) => descriptors((target) => target === path);
  const [refusedOptions] = await all(
    transcribeMany([FILES[0]], { url: flaky.url, query: { encoding: 'linear16' } as never }),
  );
  t.match(refusedOptions, { status: 'failed', attempts: 1, error: { code: 'DG_OPTIONS' } });
  await until(() => holding(FILES[0]) === 0, 'the input it had opened is closed again');
  t.equal(holding(FILES[0]), 0, 'the input it had opened is closed again');
  const [missing] = await all(transcribeMany([fixture('nope.wav')], { url: flaky.url }));
  t.match(missing, {
    status: 'failed',
    attempts: 1,
    error: { code: 'DG_INPUT', message: /ENOENT/, cause: { code: 'ENOENT' } },
  });

  const dead = await serve(t, { faults: { dropAfterBytes: 1 } });
  const [gaveUp] = await all(transcribeMany([FILES[0]], { url: dead.url, retries: 2, backoff: { initial: 1 } }));
  t.match(gaveUp, { status: 'failed', attempts: 3 }, 'retries are bounded');
});

t.test("outputs mirror the inputs' paths: two files of one name in two folders never share an output", async (t) => {
  const server = await serve(t);
  const a = temp();
  const b = temp();
  const first = join(a, 'audio.wav');
  const second = join(b, 'audio.wav');
  writeFileSync(first, readFileSync(fixture('speech.wav')));
  writeFileSync(second, readFileSync(fixture('speech.mp3'))); // the same name, other audio
  const outDir = temp();
  const results = await all(transcribeMany([first, second], { url: server.url, outDir }));
  t.ok(
    results.every((r) => r.status === 'done'),
    'both transcribed: neither is taken for the other',
  );
  t.not(outputName(first, 'json'), outputName(second, 'json'));
  const durations = results.map((r) => JSON.parse(readFileSync(r.output!, 'utf8')).metadata.duration).sort();
  t.same(durations, [7.718313, 7.742938], `each output holds its own file (${durations})`);
  t.equal(outputName('calls/a.wav', 'srt'), join('calls', 'a.wav.srt'), 'relative to the working folder');
  t.equal(outputName('/elsewhere/a.wav', 'srt'), join('elsewhere', 'a.wav.srt'), 'or absolute without its root');
});

t.test('which errors are worth another try', async (t) => {
  const e = (fields: Omit<Partial<DeepgramError>, 'code'> & { code: string }) => Object.assign(new Error('x'), fields);
  t.ok(isRetryable(e({ code: 'DG_HANDSHAKE', status: 429 })));
  t.ok(isRetryable(e({ code: 'DG_HANDSHAKE', status: 503 })));
  for (const status of [400, 401, 402, 403]) t.notOk(isRetryable(e({ code: 'DG_HANDSHAKE', status })), String(status));
  t.ok(isRetryable(e({ code: 'DG_CLOSE', closeCode: 1011 })));
  t.ok(isRetryable(e({ code: 'DG_CLOSE', closeCode: 1006 })));
  t.notOk(isRetryable(e({ code: 'DG_CLOSE', closeCode: 1008 })));
  t.ok(isRetryable(e({ code: 'ECONNRESET' })));
  t.notOk(isRetryable(e({ code: 'ENOENT' })));
  t.ok(isRetryable(e({ code: 'DG_FETCH', status: 503 })), "an input URL's 5xx");
  t.ok(isRetryable(e({ code: 'DG_FETCH' })), "an input URL's network failure");
  t.notOk(isRetryable(e({ code: 'DG_FETCH', status: 404 })));
  t.ok(isRetryable(e({ code: 'DG_CONNECT' })));
  t.ok(isRetryable(e({ code: 'DG_TIMEOUT' })));
  t.notOk(isRetryable(e({ code: 'DG_DECODE' })));
});

t.test('URLs as inputs, and progress as the audio is read and transcribed', async (t) => {
  const files: Server = createServer((request, response) => {
    const name = request.url!.slice(1);
    if (!name.startsWith('speech.')) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-length': readFileSync(fixture(name)).length });
    createReadStream(fixture(name)).pipe(response);
  });
  files.listen(0, '127.0.0.1');
  await once(files, 'listening');
  t.teardown(() => files.close());
  const base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  const server = await serve(t);
  const progress: Progress[] = [];
  const results = await all(
    transcribeMany([`${base}/speech.mp3`, `${base}/absent.wav`], {
      url: server.url,
      onProgress: (p) => progress.push({ ...p }),
    }),
  );
  const byInput = Object.fromEntries(results.map((r) => [r.input, r]));
  t.match(byInput[`${base}/speech.mp3`], { status: 'done', transcript: /\w+ \w+/ });
  t.match(byInput[`${base}/absent.wav`], {
    status: 'failed',
    error: { code: 'DG_FETCH', status: 404, message: /answered 404/ },
  });
  const mp3 = progress.filter((p) => p.input.endsWith('.mp3'));
  const last = mp3[mp3.length - 1];
  t.equal(last.bytesRead, last.bytesTotal, 'every byte read');
  t.ok(last.transcribedSeconds > 7, `${last.transcribedSeconds} s transcribed`);
  t.ok(
    mp3.some((p) => p.transcribedSeconds > 0 && p.transcribedSeconds < last.transcribedSeconds),
    'and it grew along the way',
  );
  t.match(outputName(`${base}/speech.mp3`, 'vtt'), /^speech\.mp3-[0-9a-f]{8}\.vtt$/);
});

t.test(
  'an input URL: a 503 twice then 200 is transcribed; one nobody answers is DG_FETCH with its cause',
  async (t) => {
    let asked = 0;
    const flaky: Server = createServer((_request, response) => {
      if (++asked <= 2) return void response.writeHead(503).end();
      response.writeHead(200);
      createReadStream(fixture('speech.mp3')).pipe(response);
    });
    flaky.listen(0, '127.0.0.1');
    await once(flaky, 'listening');
    t.teardown(() => flaky.close());
    const server = await serve(t);
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/speech.mp3`;
    const [result] = await all(transcribeMany([url], { url: server.url, backoff: { initial: 1, max: 5 } }));
    t.match(result, { status: 'done', attempts: 3, transcript: /\w+ \w+/ }, String(result.error?.message));
    const [unreachable] = await all(
      transcribeMany(['http://127.0.0.1:1/x.wav'], { url: server.url, retries: 1, backoff: { initial: 1 } }),
    );
    t.match(unreachable, { status: 'failed', attempts: 2, error: { code: 'DG_FETCH', cause: Error } });
    t.type(unreachable.error, DeepgramError);
  },
);

t.test(
  'a batch of 12 files at 10 at once warns of nothing (one abort listener per job, gone when it ends)',
  async (t) => {
    const server = await serve(t);
    const warnings: string[] = [];
    const warned = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', warned);
    t.teardown(() => process.off('warning', warned));
    const files = Array.from({ length: 12 }, (_, i) => FILES[i % FILES.length]);
    const results = await all(transcribeMany(files, { url: server.url, concurrency: 10 }));
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(results.filter((r) => r.status === 'done').length, 12);
    t.same(warnings, [], 'no MaxListenersExceededWarning');
  },
);
