import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createListenStream, DeepgramError, fromNdjson, toNdjson } from '../../lib/index.js';
import { endpoint } from '../../lib/listen/connection.js';
import {
  chunk,
  collector,
  finals,
  leaks,
  LINEAR16,
  readAll,
  scriptedServer,
  serve,
  sha256,
  tones,
  until,
  wsServer,
} from '../helpers.js';

t.test('audio goes out as binary frames, in order, none lost, and the session ends cleanly', async (t) => {
  const server = await serve(t);
  const audio = tones([1, 0.5, 1, 0.5]);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  const sink = collector();
  await pipeline(Readable.from(chunk(audio)), listen, sink);
  const last = sink.messages[sink.messages.length - 1];
  t.equal(last.type, 'Metadata', 'Metadata is the last object read');
  t.equal(listen.metadata?.sha256, sha256(audio), 'the server hashed exactly the bytes written, in order');
  t.equal(listen.metadata?.duration, 3);
  t.match(listen.requestId, /^[0-9a-f-]{36}$/);
});

t.test('zero-length chunks are never sent (the server would take one as CloseStream)', async (t) => {
  const server = await serve(t);
  const audio = tones([1, 0.5, 1]);
  const [a, b] = [audio.subarray(0, 32000), audio.subarray(32000)];
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  const sink = collector();
  await pipeline(Readable.from([a, Buffer.alloc(0), new Uint8Array(0), b]), listen, sink);
  t.equal(listen.metadata?.sha256, sha256(audio), 'audio after the empty chunks still reached the server');
  t.equal(listen.metadata?.duration, 2.5);
});

t.test('writes made before the socket opens are held, count against highWaterMark, and all arrive', async (t) => {
  const server = await serve(t);
  const audio = tones([2]);
  const listen = createListenStream({ url: server.url, query: LINEAR16, highWaterMark: 16384 });
  const accepted = chunk(audio).map((c) => listen.write(c));
  t.equal(accepted[0], true, 'the first write is under the mark');
  t.equal(accepted[accepted.length - 1], false, 'write() says stop before the socket is even open');
  t.ok(listen.writableLength >= audio.length - 3200, 'the writes are held in the writable buffer');
  listen.end();
  const messages = await readAll(listen);
  t.equal(listen.metadata?.sha256, sha256(audio), 'every held byte was sent, in order');
  t.equal(messages[messages.length - 1].type, 'Metadata');
});

for (const size of [65536, 3200])
  t.test(`write backpressure: a fast source ahead of a slow server stays bounded (${size}-byte writes)`, async (t) => {
    // The server ingests 48 kHz stereo linear16 (192 kB per second of audio) at 2x real time. Writes within the mark
    // complete at once while the socket holds nothing, bigger ones from ws's send callback: both must stay bounded.
    const server = await serve(t, { realtimeFactor: 2 });
    let pulled = 0;
    const source = new Readable({
      read() {
        pulled += size;
        this.push(Buffer.alloc(size));
      },
    });
    const listen = createListenStream({
      url: server.url,
      query: { encoding: 'linear16', sample_rate: 48000, channels: 2 },
    });
    source.pipe(listen);
    listen.resume();
    const rss = process.memoryUsage().rss;
    await sleep(1500);
    // Without backpressure the source is drained at memory speed (gigabytes a second).
    t.ok(
      pulled < 48 * 1024 * 1024,
      `the source was read only as the socket took it (${(pulled / 1048576).toFixed(1)} MiB in 1.5 s)`,
    );
    t.ok(process.memoryUsage().rss - rss < 96 * 1024 * 1024, 'memory stayed bounded');
    source.unpipe(listen);
    source.destroy();
    listen.destroy();
  });

/** A server that records each frame (a binary one's length, a text one's type) and closes cleanly on CloseStream. */
async function framesServer(t: Test) {
  const frames: (number | string)[] = [];
  const url = await wsServer(t, (ws) =>
    ws.on('message', (data: Buffer, binary) => {
      frames.push(binary ? data.length : JSON.parse(String(data)).type);
      if (!binary && String(data).includes('CloseStream'))
        ws.send(JSON.stringify({ type: 'Metadata', duration: 0 }), () => ws.close(1000));
    }),
  );
  return { url, frames };
}

t.test('writes made in one tick go out together, each its own frame, with a control in its place', async (t) => {
  const { url, frames } = await framesServer(t);
  const listen = createListenStream({ url, query: LINEAR16 });
  listen.resume();
  await once(listen, 'open');
  listen.write(Buffer.alloc(3200));
  listen.write(Buffer.alloc(3000));
  listen.write(Buffer.alloc(2900));
  t.equal(
    listen.writableLength,
    5900,
    'the first write went straight to the socket; the second went out and completes at the end of the tick; ' +
      'the third waits for it',
  );
  listen.finalize();
  listen.write(Buffer.alloc(2800));
  listen.write(Buffer.alloc(2600));
  listen.end();
  await once(listen, 'end');
  t.same(frames, [3200, 3000, 2900, 'Finalize', 2800, 2600, 'CloseStream'], 'every write its own frame, in order');
});

t.test('writes and a control made before the socket opens go out as frames in the order they were made', async (t) => {
  const { url, frames } = await framesServer(t);
  const listen = createListenStream({ url, query: LINEAR16, highWaterMark: 16384 });
  listen.resume();
  t.equal(listen.write(Buffer.alloc(3200)), true);
  listen.write(Buffer.alloc(3000));
  listen.finalize();
  listen.write(Buffer.alloc(2900));
  t.equal(listen.write(Buffer.alloc(20000)), false, 'past the mark, before the open: stop');
  listen.write(Buffer.alloc(100));
  t.equal(listen.writableLength, 29200, 'all of it held, and counted');
  listen.end();
  await once(listen, 'end');
  t.same(frames, [3200, 3000, 'Finalize', 2900, 20000, 100, 'CloseStream'], 'every write its own frame, in order');
});

t.test('a control made before the socket opens goes before audio written as it opens', async (t) => {
  const { url, frames } = await framesServer(t);
  const listen = createListenStream({ url, query: LINEAR16 });
  listen.resume();
  listen.finalize();
  listen.once('open', () => listen.write(Buffer.alloc(3200)));
  await once(listen, 'open');
  listen.end();
  await once(listen, 'end');
  t.same(frames, ['Finalize', 3200, 'CloseStream'], 'in the order they were made');
});

t.test(
  'a write within the mark to a socket holding nothing is done at once, the next in its tick at the end of the tick; ' +
    'a bigger one once ws sent it',
  async (t) => {
    const server = await serve(t);
    const listen = createListenStream({ url: server.url, query: LINEAR16, highWaterMark: 16384 });
    listen.resume();
    await once(listen, 'open');
    t.equal(listen.write(Buffer.alloc(3200)), true);
    t.equal(listen.writableLength, 0, 'the first of its tick went straight to the socket');
    listen.write(Buffer.alloc(3200));
    t.equal(listen.writableLength, 3200, 'the next went out, and waits for the end of the tick');
    await new Promise((resolve) => process.nextTick(resolve));
    t.equal(listen.writableLength, 0, 'done when its tick ends, with no send callback to wait for');
    const big = Buffer.alloc(32768);
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(listen.write(big), false, 'a write over the mark says stop');
    t.equal(listen.writableLength, big.length, 'and is held until ws has handed it to the socket');
    await once(listen, 'drain');
    t.equal(listen.writableLength, 0, 'then completes');
    listen.end();
    await readAll(listen);
    t.equal(listen.metadata?.duration, (2 * 3200 + 32768) / 32000, 'all reached the server');
  },
);

t.test('a cork() after writes that went straight to the socket holds the writes after it', async (t) => {
  // The direct write reads Node's writable state only once something may have put audio in it: cork() may.
  const server = await serve(t);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  listen.resume();
  await once(listen, 'open');
  for (let i = 0; i < 3; i++) {
    listen.write(Buffer.alloc(3200));
    t.equal(listen.writableLength, 0, 'straight to the socket');
    await new Promise((resolve) => setImmediate(resolve));
  }
  listen.cork();
  listen.write(Buffer.alloc(3200));
  t.equal(listen.writableLength, 3200, 'held while corked');
  listen.uncork();
  listen.end();
  await readAll(listen);
  t.equal(listen.metadata?.duration, (4 * 3200) / 32000, 'every write reached the server');
});

t.test("a write straight to the socket keeps Node's contract: a callback, cork, an error after end", async (t) => {
  const server = await serve(t);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  listen.resume();
  await once(listen, 'open');
  await new Promise<void>((resolve, reject) =>
    listen.write(Buffer.alloc(3200), (error) => (error ? reject(error) : resolve())),
  );
  t.pass('a write with a callback is called back');
  await new Promise((resolve) => setImmediate(resolve));
  listen.cork();
  listen.write(Buffer.alloc(3200));
  t.equal(listen.writableLength, 3200, 'a corked write is held');
  listen.uncork();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(listen.writableLength, 0, 'and goes once uncorked');
  listen.end(Buffer.alloc(3200));
  await readAll(listen);
  t.equal(listen.metadata?.duration, (3 * 3200) / 32000, 'every write reached the server');
  const ended = createListenStream({ url: server.url, query: LINEAR16 });
  ended.resume();
  await once(ended, 'open');
  ended.end();
  ended.write(Buffer.alloc(3200));
  const [error] = await once(ended, 'error');
  t.match(error, { code: 'ERR_STREAM_WRITE_AFTER_END' }, 'a write after end fails as Node says');
  const destroyed = createListenStream({ url: server.url, query: LINEAR16 });
  destroyed.resume();
  await once(destroyed, 'open');
  destroyed.destroy();
  t.equal(destroyed.write(Buffer.alloc(3200)), false, 'a write after destroy is refused');
  const [late] = await new Promise<unknown[]>((resolve) => destroyed.write(Buffer.alloc(3200), (...a) => resolve(a)));
  t.match(late, { code: 'ERR_STREAM_DESTROYED' }, 'with the error Node gives');
});

t.test('read backpressure: a slow consumer stops the socket being read, then everything arrives', async (t) => {
  const server = await serve(t);
  const audio = tones(Array.from({ length: 1200 }, () => 0.5)); // 10 minutes: over 600 interims, about 600 finals
  const listen = createListenStream({ url: server.url, query: { ...LINEAR16, interim_results: true } });
  Readable.from(chunk(audio, 64000)).pipe(listen);
  await sleep(1500);
  t.ok(
    listen.readableLength <= 16 + 200,
    `at most the high-water mark plus one socket read is parsed ahead (${listen.readableLength} held)`,
  );
  const messages = await readAll(listen);
  const spoken = finals(messages).filter((m) => m.channel.alternatives[0].words.length > 0);
  t.equal(spoken.length, 600, `all ${messages.length} messages arrived once the consumer read, a final per tone`);
  t.equal(messages[messages.length - 1].type, 'Metadata');
});

t.test('server text frames become typed objects; unknown types are delivered, wrapped as Unknown', async (t) => {
  const url = await scriptedServer(t, [
    JSON.stringify({ type: 'SpeechStarted', channel: [0, 1], timestamp: 0.5 }),
    JSON.stringify({ type: 'FromTheFuture', value: 1 }),
    JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: 1.2 }),
  ]);
  const listen = createListenStream({ url });
  const messages = await readAll(listen);
  t.same(
    messages.map((m) => m.type),
    ['SpeechStarted', 'Unknown', 'UtteranceEnd'],
  );
  t.same(messages[1], { type: 'Unknown', message: { type: 'FromTheFuture', value: 1 } }, 'as it came, in `message`');
  const saved = await Readable.from(messages).compose(toNdjson()).toArray();
  t.equal(saved[1], '{"type":"FromTheFuture","value":1}\n', 'a saved run holds it as it came on the wire');
  const replayed = await Readable.from(saved).compose(fromNdjson()).toArray();
  t.same(replayed, messages, 'and reads it back as the stream delivered it');
});

t.test('a frame that is not JSON is a stream error carrying the raw text', async (t) => {
  const server = await serve(t, { faults: { malformedAfter: 0 } });
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  listen.write(tones([1]));
  const [error] = await once(listen, 'error');
  t.equal(error.code, 'DG_PROTOCOL');
  t.match(error.raw, /^\{"type":"Results"/);
});

t.test('end(): every final arrives before Metadata; metadata event then end', async (t) => {
  const server = await serve(t);
  const audio = tones([1, 0.3, 1.2]); // the last tone runs to the end: its words come only from the close flush
  const listen = createListenStream({ url: server.url, query: { ...LINEAR16, endpointing: 100 } });
  const events: string[] = [];
  listen.on('metadata', () => events.push('metadata'));
  listen.on('end', () => events.push('end'));
  listen.on('close', () => events.push('close'));
  listen.on('data', (m) => events.push(m.type));
  listen.end(audio);
  await once(listen, 'close');
  t.same(events.slice(-4), ['metadata', 'Metadata', 'end', 'close'], 'metadata event, Metadata object, end, close');
  t.ok(events.filter((e) => e === 'Results').length >= 2, 'finals were read before the end');
});

t.test('the last final, flushed at close, is never lost', async (t) => {
  const server = await serve(t);
  const audio = tones([1, 0.3, 1.2]);
  const listen = createListenStream({ url: server.url, query: { ...LINEAR16, endpointing: 100 } });
  listen.end(audio);
  const results = finals(await readAll(listen));
  const covered = results.reduce((end, r) => Math.max(end, r.start + r.duration), 0);
  t.equal(Math.round(covered * 100) / 100, 2.5, 'the finals cover the audio to its last sample');
  t.ok(results[results.length - 1].channel.alternatives[0].words.length > 0, 'the final flushed at close has words');
});

t.test('a server that never closes after CloseStream: the close timeout ends it with a clear error', async (t) => {
  const server = await serve(t, { faults: { hangOnClose: true } });
  const listen = createListenStream({ url: server.url, query: LINEAR16, closeTimeout: 300 });
  listen.resume();
  listen.end(tones([0.5]));
  const [error] = await once(listen, 'error');
  t.equal(error.code, 'DG_CLOSE_TIMEOUT');
  t.match(error.message, /did not close within 300 ms/);
});

t.test('finalize() goes out after the audio written before it, never ahead', async (t) => {
  const server = await serve(t);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  const before = tones([1.5]); // 1.5 s of speech with no pause: only Finalize can produce a final for it now
  for (const c of chunk(before, 1600)) listen.write(c);
  listen.finalize();
  listen.write(tones([0.5]));
  listen.keepAlive();
  listen.configure({ numerals: true });
  listen.end();
  const results = finals(await readAll(listen));
  const finalized = results.filter((r) => r.from_finalize);
  t.equal(finalized.length, 1, 'one final answers the Finalize');
  t.equal(finalized[0].start + finalized[0].duration, 1.5, 'it covers exactly the audio written before finalize()');
});

t.test('control messages queued before the socket opens keep their place too', async (t) => {
  const server = await serve(t);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  listen.finalize(); // before any audio: answered with nothing, and must not land after it
  listen.write(tones([1]));
  listen.finalize();
  listen.end();
  const finalized = finals(await readAll(listen)).filter((r) => r.from_finalize);
  t.same(
    finalized.map((r) => r.start + r.duration),
    [1],
  );
});

t.test('KeepAlive goes out automatically while the source is paused', async (t) => {
  // KeepAlive at most 200 ms apart against a server that closes after 800 ms without any: room for a loaded machine.
  const server = await serve(t, { inactivityTimeout: 800 });
  const listen = createListenStream({ url: server.url, query: LINEAR16, keepAlive: 100 });
  listen.resume();
  listen.write(tones([0.2]));
  await sleep(2400); // three inactivity windows with no audio: time passing is what is tested
  t.notOk(listen.destroyed, 'the session outlived the inactivity timeout');
  listen.end();
  await once(listen, 'close');
  t.equal(listen.metadata?.sha256.length, 64, 'and closed normally, with a complete Metadata');
});

t.test('keepAlive: false lets the server close with NET-0001, reported with its meaning and Metadata', async (t) => {
  const server = await serve(t, { inactivityTimeout: 300 });
  const listen = createListenStream({ url: server.url, query: LINEAR16, keepAlive: false });
  listen.resume();
  listen.write(tones([0.2]));
  const [error] = await once(listen, 'error');
  t.equal(error.code, 'DG_CLOSE');
  t.equal(error.closeCode, 1011);
  t.match(error.message, /NET-0001/);
  t.equal(error.metadata.sha256, 'incomplete');
});

t.test('a refused handshake gives status, dg-error, dg-request-id and body', async (t) => {
  const server = await serve(t, { apiKey: 'right-key' });
  const listen = createListenStream({ url: server.url, apiKey: 'wrong-key' });
  const [error] = await once(listen, 'error');
  t.ok(error instanceof DeepgramError);
  t.equal(error.code, 'DG_HANDSHAKE');
  t.equal(error.status, 401);
  t.equal(error.dgError, 'Invalid credentials.');
  t.match(error.requestId, /^[0-9a-f-]{36}$/);
  t.same(JSON.parse(error.body), {
    err_code: 'INVALID_AUTH',
    err_msg: 'Invalid credentials.',
    request_id: error.requestId,
  });
  t.match(error.message, /401 Invalid credentials\./);
});

t.test('closes other than 1000 carry code, reason and meaning', async (t) => {
  t.test('1011 NET-0000', async (t) => {
    const server = await serve(t, { faults: { net0000AfterMs: 50 } });
    const listen = createListenStream({ url: server.url, query: LINEAR16 });
    listen.resume();
    const [error] = await once(listen, 'error');
    t.equal(error.closeCode, 1011);
    t.match(error.closeReason, /net0000/);
    t.match(error.message, /NET-0000/);
  });
  t.test('1008 DATA-0000 for bytes that are not audio', async (t) => {
    const server = await serve(t);
    const listen = createListenStream({ url: server.url });
    listen.resume();
    listen.end(Buffer.from('this is plainly not an audio file '.repeat(200)));
    const [error] = await once(listen, 'error');
    t.equal(error.closeCode, 1008);
    t.match(error.message, /DATA-0000.*could not be decoded/);
    t.equal(error.metadata.channels, 0);
  });
  t.test('1006 when the connection drops', async (t) => {
    const server = await serve(t, { faults: { dropAfterBytes: 1 } });
    const listen = createListenStream({ url: server.url, query: LINEAR16 });
    listen.resume();
    listen.write(tones([0.5]));
    const [error] = await once(listen, 'error');
    t.equal(error.closeCode, 1006);
  });
});

t.test('destroy() tears down at once, with no CloseStream, even during the connect', async (t) => {
  const server = await serve(t);
  const during = createListenStream({ url: server.url, query: LINEAR16 });
  during.write(tones([0.5]));
  during.destroy();
  await once(during, 'close');
  t.ok(during.destroyed);

  const open = createListenStream({ url: server.url, query: LINEAR16 });
  open.resume();
  open.write(tones([0.5]));
  await once(open, 'open');
  let metadata = false;
  open.on('metadata', () => (metadata = true));
  open.destroy();
  await once(open, 'close');
  await until(() => server.connections === 0, 'the server saw the socket go');
  t.notOk(metadata, 'no Metadata: nothing asked the server to close gracefully');
});

t.test('an AbortSignal aborts the stream', async (t) => {
  const server = await serve(t);
  const controller = new AbortController();
  const listen = createListenStream({ url: server.url, query: LINEAR16, signal: controller.signal });
  listen.resume();
  setTimeout(() => controller.abort(), 50);
  const [error] = await once(listen, 'error');
  t.equal(error.name, 'AbortError');
});

t.test('connect timeout against a server that never answers the upgrade', async (t) => {
  const silent = createTcpServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => silent.close());
  const listen = createListenStream({
    url: `ws://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    connectTimeout: 200,
  });
  const [error] = await once(listen, 'error');
  t.equal(error.code, 'DG_CONNECT_TIMEOUT');
});

t.test('impossible options fail before connecting, saying how to fix them', async (t) => {
  t.throws(() => createListenStream({ url: 'ws://127.0.0.1:1', query: { encoding: 'linear16' } }), {
    code: 'DG_OPTIONS',
    message: /needs sample_rate/,
  });
  t.throws(() => createListenStream({ url: 'ws://127.0.0.1:1', query: { utterance_end_ms: 1000 } }), {
    code: 'DG_OPTIONS',
    message: /needs interim_results=true/,
  });
  t.throws(() => createListenStream({ url: 'ws://example.com', apiKey: 'k' }), {
    code: 'DG_OPTIONS',
    message: /ws:\/\/ to example\.com would send the key in clear: use wss:\/\//,
  });
  const open = endpoint({ url: 'ws://example.com' }, '/v1/listen', new URLSearchParams());
  t.equal(
    open.options.headers?.Authorization,
    undefined,
    "with no credential to leak, ws:// to a server of one's own is allowed",
  );
});

t.test('options reach the server as Deepgram expects: repeated keys, auth header, base URL', async (t) => {
  let seen: { url?: string; authorization?: string } = {};
  const server = await serve(t, {
    script: (request) => {
      seen = { url: request.url, authorization: request.headers.authorization };
      return undefined;
    },
  });
  const listen = createListenStream({
    url: server.url,
    apiKey: 'k-123',
    query: {
      ...LINEAR16,
      keyterm: ['alpha beta', 'gamma'],
      tag: ['one', 'two'],
      extra: { team: 'a' },
      redact: ['pci', 'ssn'],
    },
  });
  listen.end(tones([0.2]));
  await readAll(listen);
  const query = new URL(seen.url!, 'http://x').searchParams;
  t.same(query.getAll('keyterm'), ['alpha beta', 'gamma']);
  t.same(query.getAll('tag'), ['one', 'two']);
  t.same(query.getAll('redact'), ['pci', 'ssn']);
  t.same(query.getAll('extra'), ['team:a']);
  t.equal(seen.authorization, 'Token k-123');

  const bearer = createListenStream({ url: server.url, accessToken: 'jwt.x.y', query: LINEAR16 });
  bearer.end();
  await readAll(bearer);
  t.equal(seen.authorization, 'Bearer jwt.x.y');
});

t.test('the key never shows where it could leak: the URL, errors and their JSON, every emitted object', async (t) => {
  const key = 'secret-key-0123456789abcdef';
  t.same(leaks(key, [{ a: [1, `x${key}`] }, new Error(key)]), ['[0].a.1', '[1].message'], 'the search finds a key');
  // Everything the streams emit, events and messages alike, is searched.
  const emitted: unknown[] = [];
  const record = (stream: { emit(event: string | symbol, ...args: unknown[]): boolean }) => {
    const emit = stream.emit.bind(stream);
    stream.emit = (event: string | symbol, ...args: unknown[]) => (emitted.push(event, ...args), emit(event, ...args));
  };
  let url = '';
  const open = await serve(t, { script: (r) => ((url = r.url ?? ''), undefined), faults: { dropAfterBytes: 40_000 } });
  const query = { ...LINEAR16, interim_results: true };
  const dropped = createListenStream({ url: open.url, apiKey: key, query, reconnect: { attempts: 1 } });
  record(dropped);
  dropped.resume();
  dropped.end(tones([2]));
  const lost = await once(dropped, 'error').then(([e]) => e);
  t.ok(emitted.length > 5, `${emitted.length} events and messages`);
  t.match(lost, { code: 'DG_CLOSE' }, 'a drop, then a failed reconnect');

  const refusing = await serve(t, { apiKey: 'another' });
  const refused = createListenStream({ url: refusing.url, apiKey: key });
  record(refused);
  const [error] = await once(refused, 'error');
  t.equal(error.code, 'DG_HANDSHAKE');
  t.same(
    leaks(key, [url, ...emitted, error, JSON.parse(JSON.stringify(error)), inspect(error, { depth: Infinity })]),
    [],
  );
  t.notOk(url.includes(key), 'the URL');
});
