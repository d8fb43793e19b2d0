// The speak Duplex against the local server's /v1/speak (and stand-ins where a reply must be forced): no audio lost
// at the end, the server's limits kept on the client, barge-in, backpressure, and errors with codes.
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeepgramClient } from '@deepgram/sdk';
import { createSpeakStream, DeepgramError, SPEAK_LIMITS, type SpeakStream } from '../../lib/index.js';
import { collector, serve, until, wsServer } from '../helpers.js';
import { splitText, Window } from '../../lib/speak/limits.js';
import { synthesize } from '../../lib/server/voice.js';
import { encodeSamples } from '../../lib/audio/g711.js';

const QUERY = { model: 'aura-2-thalia-en', encoding: 'linear16', sample_rate: 16000 } as const;

/** A stand-in /v1/speak that records every frame and answers each with `reply`. */
async function standIn(t: Test, reply: (message: { type: string; text?: string }, ws: import('ws').WebSocket) => void) {
  const frames: { type: string; text?: string; at: number }[] = [];
  const sockets: import('ws').WebSocket[] = [];
  const url = await wsServer(t, (ws) => {
    sockets.push(ws);
    ws.send(
      JSON.stringify({ type: 'Metadata', request_id: 'r', model_name: 'm', model_version: 'v', model_uuid: 'u' }),
    );
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      frames.push({ ...message, at: performance.now() });
      reply(message, ws);
    });
  });
  // Stops reading and answering (pongs included) without closing, as a dead network does.
  const hang = () =>
    sockets.forEach(
      (ws) => (
        (ws as unknown as { _socket: import('node:net').Socket })._socket.pause(),
        ws.removeAllListeners('ping')
      ),
    );
  return { url, frames, hang };
}

t.test('pipeline(sentences, speak, sink) gets every byte the server sent, with a Flush before the Close', async (t) => {
  const server = await serve(t);
  const speak = createSpeakStream({ url: server.url, query: QUERY });
  const flushed: number[] = [];
  speak.on('flushed', (id) => flushed.push(id));
  const sink = collector<Buffer>();
  const sentences = ['Hello there. ', 'This is a test of speech out. ', 'It ends here.'];
  await pipeline(Readable.from(sentences), speak, sink);
  const audio = Buffer.concat(sink.messages);
  const expected = encodeSamples(synthesize(sentences.join(''), 16000), 'linear16');
  t.equal(audio.length, expected.length, `${audio.length} bytes: all of the text's audio`);
  t.ok(audio.equals(expected), 'the same bytes, in order');
  t.same(flushed, [0], 'one Flush, answered');
  t.equal(speak.metadata?.model_name, 'aura-2-thalia-en');
  t.match(speak.requestId, /^[0-9a-f-]{36}$/);
});

t.test('the wire: Speak pieces of at most 2,000 characters cut at sentence ends, then Flush, then Close', async (t) => {
  const server = await standIn(t, (message, ws) => {
    if (message.type === 'Flush') ws.send(JSON.stringify({ type: 'Flushed', sequence_id: 0 }));
    if (message.type === 'Close') ws.close(1000);
  });
  const sentence = 'This sentence has exactly fifty characters in it. ';
  const text = sentence.repeat(100); // 5,000 characters
  const speak = createSpeakStream({ url: server.url, query: QUERY, limits: { charactersPerMinute: 10_000 } });
  speak.resume();
  speak.end(text);
  await once(speak, 'close');
  const speaks = server.frames.filter((f) => f.type === 'Speak').map((f) => f.text!);
  t.same(
    speaks.map((s) => s.length),
    [2000, 2000, 1000],
  );
  t.ok(
    speaks.every((s) => s.endsWith('. ')),
    'each ends at a sentence end',
  );
  t.equal(speaks.join(''), text, 'nothing lost or added');
  t.same(
    server.frames.slice(-2).map((f) => f.type),
    ['Flush', 'Close'],
  );
});

t.test('splitText: sentence ends, then spaces; a word is cut only when longer than the limit', async (t) => {
  t.same(splitText('One two. Three four five.', 12), ['One two. ', 'Three four ', 'five.']);
  t.same(splitText('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
  t.same(splitText('ab😀cd', 3), ['ab', '😀c', 'd'], 'a surrogate pair stays whole');
  const window = new Window(10, 1000);
  window.take(6, 0);
  window.take(3, 500);
  t.equal(window.wait(1, 600), 0);
  t.equal(window.wait(2, 600), 400, 'the first use leaves the window at 1000');
  t.equal(window.wait(8, 600), 900, 'both must leave');
});

t.test('a burst of 30 flush() calls, each after text, puts at most 20 Flushes on the wire in the minute', async (t) => {
  const server = await standIn(t, () => {});
  const speak = createSpeakStream({ url: server.url, query: QUERY });
  speak.resume();
  for (let i = 0; i < 30; i++) {
    speak.write(`Reply ${i}. `);
    speak.flush();
  }
  await until(() => server.frames.filter((f) => f.type === 'Flush').length >= 20, '20 Flushes');
  const held = speak.writableLength;
  // The 21st waits for the window: no more Flush goes out meanwhile, and the writes behind it wait too.
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(server.frames.filter((f) => f.type === 'Flush').length, SPEAK_LIMITS.flushesPerMinute);
  t.ok(held > 0 && speak.writableLength === held, 'what follows waits (backpressure), it is not dropped');
  speak.destroy();
  // Flushes with no text between them are one.
  const again = createSpeakStream({ url: server.url, query: QUERY });
  again.resume();
  const before = server.frames.filter((f) => f.type === 'Flush').length;
  again.write('Once. ');
  for (let i = 0; i < 30; i++) again.flush();
  again.write('Twice.');
  again.flush();
  await until(() => server.frames.filter((f) => f.type === 'Flush').length === before + 2, 'two Flushes');
  again.destroy();
});

t.test('the character budget: a write waits for the minute to have room, it does not fail', async (t) => {
  const server = await standIn(t, () => {});
  const speak = createSpeakStream({ url: server.url, query: QUERY, limits: { charactersPerMinute: 30 } });
  speak.resume();
  speak.write('Twenty characters.. ');
  speak.write('Twenty characters!! ');
  await until(() => server.frames.length >= 1, 'the first Speak');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(server.frames.length, 1, 'the second waits: 40 characters would pass 30 in the minute');
  t.ok(speak.writableLength > 0);
  speak.destroy();
});

t.test('clear(): Clear goes at once, and no audio from before it is read', async (t) => {
  const server = await serve(t, { speak: { ttfbMs: 0 } });
  const speak = createSpeakStream({ url: server.url, query: QUERY });
  const first = 'This is a long reply that goes on and on, with many words in it. '.repeat(20);
  speak.write(first);
  speak.flush();
  const reader = speak[Symbol.asyncIterator]();
  await reader.next(); // some audio has come; much more is on its way
  const cleared = once(speak, 'cleared');
  speak.clear();
  await cleared;
  speak.write('Short.');
  speak.flush();
  speak.end();
  const after: Buffer[] = [];
  for (let next = await reader.next(); !next.done; next = await reader.next()) after.push(next.value);
  const short = encodeSamples(synthesize('Short.', 16000), 'linear16');
  t.ok(
    Buffer.concat(after).equals(short),
    `after clear() only the new reply is read (${Buffer.concat(after).length} bytes)`,
  );
});

t.test('a reader that stops reading keeps memory bounded: the socket is paused', async (t) => {
  // A stand-in that sends 64 MiB of audio as fast as the socket takes it, from one buffer made before measuring.
  const audio = Buffer.alloc(64 << 20);
  let sent = 0;
  const server = await standIn(t, (message, ws) => {
    if (message.type === 'Close') ws.close(1000);
    if (message.type !== 'Flush') return;
    const more = () => {
      while (sent < audio.length && ws.bufferedAmount < 1 << 20) {
        ws.send(audio.subarray(sent, sent + 4800));
        sent += 4800;
      }
      if (sent < audio.length) setTimeout(more, 5);
      else ws.send(JSON.stringify({ type: 'Flushed', sequence_id: 0 }));
    };
    more();
  });
  const speak = createSpeakStream({ url: server.url, query: QUERY, readableHighWaterMark: 256 * 1024 });
  const before = process.memoryUsage().arrayBuffers;
  speak.write('Hello.');
  speak.flush();
  await once(speak, 'readable');
  await until(() => sent > 0, 'audio on its way');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const held = process.memoryUsage().arrayBuffers - before;
  t.ok(held < 8 << 20, `${(held / 1048576).toFixed(1)} MiB held while the reader waits, of 64 MiB on offer`);
  t.ok(sent < 32 << 20, `the server could send only ${(sent / 1048576).toFixed(1)} MiB`);
  let bytes = 0;
  speak.end();
  for await (const chunk of speak) bytes += chunk.length;
  t.equal(bytes, audio.length, 'then every byte arrives');
});

t.test('errors: a refused key, a close code the server sends, a server that never answers the Flush', async (t) => {
  const server = await serve(t, { apiKey: 'right' });
  const refused = createSpeakStream({ url: server.url, apiKey: 'wrong-key-123', query: QUERY });
  const [error] = (await once(refused, 'error')) as [DeepgramError];
  t.match(error, { code: 'DG_HANDSHAKE', status: 401 });
  t.notMatch(error.message, /wrong-key-123/);

  const open = await serve(t, { speak: { limits: { speakCharacters: 10 } } });
  const big = createSpeakStream({ url: open.url, query: QUERY, limits: { speakCharacters: 50 } });
  big.resume();
  big.write('This text is longer than ten characters.');
  const [closed] = (await once(big, 'error')) as [DeepgramError];
  t.match(closed, { code: 'DG_CLOSE', closeCode: 1009, message: /BIG-0001: a Speak message longer/ });

  const silent = await standIn(t, () => {});
  const stuck = createSpeakStream({ url: silent.url, query: QUERY, closeTimeout: 200 });
  stuck.resume();
  stuck.end('Hello.');
  const [late] = (await once(stuck, 'error')) as [DeepgramError];
  t.match(late, { code: 'DG_CLOSE_TIMEOUT', message: /no Flushed within 200 ms/ });

  t.throws(() => createSpeakStream({ query: { encoding: 'mulaw', sample_rate: 24000 } }), { code: 'DG_OPTIONS' });
});

t.test("the local server's limits close as Deepgram's do", async (t) => {
  const server = await serve(t, { speak: { limits: { charactersPerMinute: 20 } } });
  const { WebSocket } = await import('ws');
  const cases: [string | Buffer, number, RegExp][] = [
    [Buffer.from([1, 2, 3]), 1003, /MESSAGE-0000/],
    [JSON.stringify({ type: 'Reset' }), 1008, /DATA-0000/],
    [JSON.stringify({ type: 'Speak', text: 'x'.repeat(30) }), 1008, /DATA-0001/],
  ];
  for (const [frame, code, reason] of cases) {
    const ws = new WebSocket(`${server.url}/v1/speak?encoding=linear16`);
    await once(ws, 'open');
    ws.send(frame);
    const [got, why] = await once(ws, 'close');
    t.equal(got, code);
    t.match(String(why), reason);
  }
});

t.test(
  'the local server warns past 20 Flushes a minute and ends a session at its longest (1011 NET-0003)',
  async (t) => {
    const server = await serve(t, { speak: { limits: { flushesPerMinute: 2 }, maxSessionMs: 300 } });
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${server.url}/v1/speak?encoding=linear16`);
    const messages: { type: string; code?: string }[] = [];
    ws.on('message', (data, binary) => binary || messages.push(JSON.parse(String(data))));
    await once(ws, 'open');
    for (let i = 0; i < 3; i++) ws.send(JSON.stringify({ type: 'Speak', text: 'Hi. ' }), () => {});
    // Two Flushes within the limit, then a flood: the flood waits as one (one Warning, one timer), not one per Flush.
    for (let i = 0; i < 1000; i++) ws.send(JSON.stringify({ type: 'Flush' }));
    const [code, reason] = await once(ws, 'close');
    const types = messages.filter((m) => m.type !== 'Metadata').map((m) => m.type);
    t.same(types.sort(), ['Flushed', 'Flushed', 'Warning'], 'two Flushes answered, the third warned and held');
    t.equal(code, 1011);
    t.match(String(reason), /NET-0003/);
  },
);

t.test('the local server cuts off a client that reads nothing after stallMs, whatever it sends', async (t) => {
  const server = await serve(t, { speak: { ttfbMs: 0, stallMs: 400, limits: { charactersPerMinute: 1e6 } } });
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`${server.url}/v1/speak?encoding=linear16`);
  await once(ws, 'open');
  ws.pause(); // reads nothing from here on
  // Minutes of audio owed (far past the socket buffers and the server's 1 MiB); once it has backed up, a flood of
  // Clears, each of which the server would answer while it read them.
  for (let i = 0; i < 5; i++) ws.send(JSON.stringify({ type: 'Speak', text: 'A sentence of speech. '.repeat(90) }));
  ws.send(JSON.stringify({ type: 'Flush' }));
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 300)); // the audio backing up: a time, since nothing can show it
  const sendClears = setInterval(() => {
    for (let i = 0; i < 100; i++) ws.send('{"type":"Clear"}');
  }, 20);
  t.teardown(() => clearInterval(sendClears));
  const [code] = await once(ws, 'close');
  clearInterval(sendClears);
  t.equal(code, 1006, 'cut off, as a stalled client is');
  t.ok(performance.now() - started < 5000, 'within its stallMs, not at the hour');
  await until(() => server.connections === 0, 'its slot is free');
});

/** Ends `speak` with `text` and waits for its error: the error, and how long it took to come. */
async function endedInError(speak: SpeakStream, text: string): Promise<{ error: DeepgramError; waited: number }> {
  speak.resume();
  const started = performance.now();
  speak.end(text);
  const [error] = (await once(speak, 'error')) as [DeepgramError];
  return { error, waited: performance.now() - started };
}

t.test('audio after Close does not hold the close deadline off: a server that never closes is a timeout', async (t) => {
  const timers: NodeJS.Timeout[] = [];
  t.teardown(() => timers.forEach(clearInterval));
  const server = await standIn(t, (message, ws) => {
    if (message.type === 'Flush') ws.send(JSON.stringify({ type: 'Flushed', sequence_id: 0 }));
    // Audio every 50 ms after Close, forever, and no close.
    if (message.type === 'Close') timers.push(setInterval(() => ws.send(Buffer.alloc(480)), 50));
  });
  const speak = createSpeakStream({ url: server.url, query: QUERY, closeTimeout: 300 });
  const { error, waited } = await endedInError(speak, 'Hello.');
  t.match(error, { code: 'DG_CLOSE_TIMEOUT', message: /did not close within 300 ms/ });
  t.ok(waited < 3000, `ended after ${Math.round(waited)} ms, though audio came every 50 ms`);
});

t.test('before Close, audio is progress only as far as the text could bring it', async (t) => {
  const timers: NodeJS.Timeout[] = [];
  t.teardown(() => timers.forEach(clearInterval));
  // Slow but finite: 100 ms of audio every 100 ms for a second, then Flushed; the deadline is 300 ms.
  const slow = await standIn(t, (message, ws) => {
    if (message.type !== 'Flush') return;
    let sent = 0;
    const timer = setInterval(() => {
      if (++sent <= 10) return ws.send(Buffer.alloc(3200));
      clearInterval(timer);
      ws.send(JSON.stringify({ type: 'Flushed', sequence_id: 0 }));
      setTimeout(() => ws.close(1000), 10);
    }, 100);
    timers.push(timer);
  });
  const patient = createSpeakStream({ url: slow.url, query: QUERY, closeTimeout: 300 });
  const sink = collector<Buffer>();
  await pipeline(Readable.from(['Hello there, how are you today?']), patient, sink);
  t.equal(Buffer.concat(sink.messages).length, 32000, 'every byte of a reply that took over 3 deadlines to come');

  // Endless: audio every 20 ms and never Flushed. "Hello." may bring 6 s of 16 kHz audio at most.
  const endless = await standIn(t, (message, ws) => {
    if (message.type === 'Flush') timers.push(setInterval(() => ws.send(Buffer.alloc(9600)), 20));
  });
  const stuck = createSpeakStream({ url: endless.url, query: QUERY, closeTimeout: 300 });
  const { error, waited } = await endedInError(stuck, 'Hello.');
  t.match(error, { code: 'DG_CLOSE_TIMEOUT', message: /no Flushed within 300 ms/ });
  t.ok(waited < 4000, `ended after ${Math.round(waited)} ms, though audio came every 20 ms`);
});

t.test('a speak server gone quiet is noticed (liveness), as on listen', async (t) => {
  const server = await standIn(t, () => {});
  const speak = createSpeakStream({ url: server.url, query: QUERY, liveness: { interval: 100, timeout: 300 } });
  speak.resume();
  speak.write('Hello.');
  await until(() => server.frames.length > 0, 'the text arrived');
  server.hang();
  const [error] = (await once(speak, 'error')) as [DeepgramError];
  t.match(error, { code: 'DG_TIMEOUT' });
});

t.test("Deepgram's JS SDK v5 speak.v1 cannot tell the local server apart", async (t) => {
  const server = await serve(t, { apiKey: 'sdk-key', speak: { ttfbMs: 0 } });
  const client = new DeepgramClient({ apiKey: 'sdk-key', baseUrl: server.url });
  const socket = await client.speak.v1.connect({
    model: 'aura-2-thalia-en',
    encoding: 'linear16',
    reconnectAttempts: 0,
  } as never);
  const events: (string | number)[] = [];
  let audio = 0;
  socket.on('message', (message: unknown) => {
    if (message instanceof ArrayBuffer || ArrayBuffer.isView(message) || message instanceof Blob) {
      audio++;
      if (events.at(-1) !== 'audio') events.push('audio');
    } else events.push((message as { type: string }).type);
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (event: { code: number }) => resolve(event.code)));
  socket.connect();
  await socket.waitForOpen();
  socket.sendText({ type: 'Speak', text: 'Hello from the SDK.' });
  socket.sendFlush({ type: 'Flush' });
  await until(() => events.includes('Flushed'), 'Flushed');
  socket.sendClear({ type: 'Clear' });
  await until(() => events.includes('Cleared'), 'Cleared');
  socket.sendClose({ type: 'Close' });
  t.equal(await closed, 1000);
  t.same(events, ['Metadata', 'audio', 'Flushed', 'Cleared'], 'Metadata, audio, Flushed, then Cleared and no audio');
  t.ok(audio > 0);
});
