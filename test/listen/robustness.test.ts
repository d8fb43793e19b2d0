import t from 'tap';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createListenStream, fromNdjson, toSrt, toVtt, utterances, type DeepgramError } from '../../lib/index.js';
import { finals, LINEAR16, readAll, resultsWith, scriptedServer, serve, sha256, tones, until } from '../helpers.js';

t.test('bad input on the client side: each a clear error or a no-op, and nothing accepted is lost', async (t) => {
  const server = await serve(t);
  const audio = tones([1]);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  t.throws(() => listen.write(42 as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'a number is refused at write()');
  t.throws(() => listen.write({ audio } as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'so is an object');
  listen.write(audio);
  listen.end();
  listen.end(); // a second end is a no-op
  await once(listen, 'finish');
  t.throws(
    () => listen.finalize(),
    { code: 'DG_CLOSED', message: /after CloseStream/ },
    'control messages after CloseStream say why they cannot go',
  );
  const all = await readAll(listen);
  t.equal(all[all.length - 1].type, 'Metadata');
  t.equal(listen.metadata?.sha256, sha256(audio), 'what was accepted before end() arrived whole');

  const late = createListenStream({ url: server.url, query: LINEAR16 });
  late.end(audio);
  late.write(Buffer.alloc(10));
  const [error] = await once(late, 'error');
  t.equal(error.code, 'ERR_STREAM_WRITE_AFTER_END', 'a write after end is an error, as for any Node stream');
});

t.test('hundreds of concurrent streams in one process', async (t) => {
  const server = await serve(t);
  const audio = tones([0.3, 0.2]);
  const streams = Array.from({ length: 300 }, async () => {
    const listen = createListenStream({ url: server.url, query: LINEAR16 });
    listen.end(audio);
    const messages = await readAll(listen);
    return listen.metadata?.sha256 === sha256(audio) && messages[messages.length - 1].type === 'Metadata';
  });
  const done = await Promise.all(streams);
  t.equal(done.filter(Boolean).length, 300, 'all 300 completed with their Metadata');
  await until(() => server.connections === 0, 'every session closed on the server too');
  t.equal(server.connections, 0);
});

const LIB = fileURLToPath(new URL('../../lib/index.ts', import.meta.url));
const SERVER = fileURLToPath(new URL('../../lib/server/index.ts', import.meta.url));

t.test('NODE_DEBUG lines tell what happens and never show the key', async (t) => {
  const key = 'debug-secret-key-42';
  const script = `
    import { createListenStream } from ${JSON.stringify(LIB)};
    import { startServer } from ${JSON.stringify(SERVER)};
    const server = await startServer({
      realtimeFactor: false, faults: ({ index }) => index === 0 ? { dropAfterBytes: 1 } : undefined,
    });
    const listen = createListenStream({
      url: server.url, apiKey: ${JSON.stringify(key)}, reconnect: { attempts: 2, backoff: { initial: 1 } },
      query: { encoding: 'linear16', sample_rate: 16000 },
    });
    listen.resume();
    listen.end(Buffer.alloc(32000));
    await new Promise((resolve) => listen.on('close', resolve));
    await server.close();
  `;
  const run = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_DEBUG: 'deepgram-stream' },
    timeout: 30_000,
  });
  t.match(run.stderr, /DEEPGRAM-STREAM \d+: connecting/);
  t.match(run.stderr, /reconnecting after 1006/);
  t.match(run.stderr, /replayed \d+ bytes/);
  t.notMatch(run.stderr + run.stdout, key);
});

t.test('a reconnect never shows the key either: errors after failed reconnects', async (t) => {
  const key = 'reconnect-secret-99';
  const server = await serve(t, { faults: { dropAfterBytes: 1 } });
  const listen = createListenStream({
    url: server.url,
    apiKey: key,
    query: LINEAR16,
    reconnect: { attempts: 1, backoff: { initial: 1 } },
  });
  listen.resume();
  listen.write(tones([0.2]));
  const [error] = await once(listen, 'error');
  t.notMatch(JSON.stringify(error) + error.message + error.stack, key);
});

t.test('a malformed JSON message is a DG_PROTOCOL error naming the field, never a crash or a NaN', async (t) => {
  const good = resultsWith([
    { transcript: 'a', confidence: 1, words: [{ word: 'a', start: 0, end: 1, confidence: 1 }] },
  ]);
  const cases: [string, unknown, RegExp][] = [
    ['Results without channel', { ...good, channel: undefined }, /Results: channel\.alternatives is not a list/],
    ['alternatives: null', { ...good, channel: { alternatives: null } }, /channel\.alternatives is not a list/],
    [
      'words: [null]',
      { ...good, channel: { alternatives: [{ transcript: 'a', words: [null] }] } },
      /words\[0\] is not an object/,
    ],
    [
      'a numeric word',
      { ...good, channel: { alternatives: [{ transcript: 'a', words: [{ word: 7, start: 0, end: 1 }] }] } },
      /words\[0\]\.word is not a string/,
    ],
    ['start: "x"', { ...good, start: 'x' }, /start and duration must be numbers/],
    ['UtteranceEnd without channel', { type: 'UtteranceEnd', last_word_end: 1 }, /UtteranceEnd: channel is not a list/],
    ['SpeechStarted at NaN', { type: 'SpeechStarted', channel: [0, 1], timestamp: null }, /timestamp is not a number/],
  ];
  for (const [name, message, why] of cases) {
    const listen = createListenStream({ url: await scriptedServer(t, [JSON.stringify(message)]) });
    const error = await readAll(listen).then(
      () => undefined,
      (e: DeepgramError) => e,
    );
    t.equal(error?.code, 'DG_PROTOCOL', name);
    t.match(error?.message, why, `${name}: says what is wrong`);
  }
  const fine = createListenStream({
    url: await scriptedServer(t, [JSON.stringify(good), JSON.stringify({ type: 'Later', x: 1 })]),
  });
  t.same(
    (await readAll(fine)).map((m) => m.type),
    ['Results', 'Unknown'],
    'well-formed and unknown types still pass',
  );
});

t.test('the key: a line break in it is DG_OPTIONS; no key and no url is refused before dialling', async (t) => {
  const saved = process.env.DEEPGRAM_API_KEY;
  delete process.env.DEEPGRAM_API_KEY;
  t.teardown(() => {
    if (saved !== undefined) process.env.DEEPGRAM_API_KEY = saved;
  });
  t.throws(() => createListenStream({ apiKey: 'abc\r\nX-Evil: 1' }), { code: 'DG_OPTIONS', message: /line break/ });
  t.throws(() => createListenStream({ accessToken: 'jwt\n' }), { code: 'DG_OPTIONS', message: /newline/ });
  t.throws(() => createListenStream({}), { code: 'DG_OPTIONS', message: /set DEEPGRAM_API_KEY, or pass apiKey/ });
  const server = await serve(t);
  const local = createListenStream({ url: server.url, query: LINEAR16 });
  local.end(tones([0.2]));
  t.equal((await readAll(local)).pop()?.type, 'Metadata', 'a url without a key is fine (a local server)');
});

t.test('closeTimeout counts only time in which the server could send: a stalled reader loses nothing', async (t) => {
  const server = await serve(t);
  const listen = createListenStream({
    url: server.url,
    query: { ...LINEAR16, interim_results: true },
    closeTimeout: 300,
  });
  listen.end(tones(Array.from({ length: 40 }, () => 0.5)));
  await once(listen, 'finish');
  await sleep(1200); // a consumer busy elsewhere, four times the close timeout, with the socket paused behind it
  const messages = await readAll(listen);
  t.equal(messages[messages.length - 1].type, 'Metadata', 'every message, then Metadata, and no DG_CLOSE_TIMEOUT');
  const last = finals(messages).pop();
  t.equal(last && Math.round((last.start + last.duration) * 100) / 100, 20, 'the finals cover all 20 s');
});

t.test('transforms turn a bad object into a stream error that pipeline() rejects with', async (t) => {
  const bad = {
    type: 'Results',
    is_final: true,
    speech_final: true,
    channel_index: [0, 1],
    channel: { alternatives: [{ transcript: 'x', words: [null] }] },
  };
  for (const stage of [toSrt(), toVtt(), utterances()]) {
    await t.rejects(
      pipeline(Readable.from([bad]), stage, new Writable({ objectMode: true, write: (_m, _e, done) => done() })),
      TypeError,
      'rejected, not thrown out of the event loop',
    );
  }
  const ndjson = `${JSON.stringify({ type: 'Results', start: 'x' })}\n`;
  await t.rejects(
    pipeline(Readable.from([ndjson]), fromNdjson(), toSrt(), new Writable({ write: (_c, _e, done) => done() })),
    /line 1 is not a valid message \(Results: start and duration must be numbers\)/,
    'fromNdjson refuses it where it enters',
  );
});
