import t, { type Test } from 'tap';
import { once } from 'node:events';
import { finished, pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import { createFluxStream, createListenStream, type DeepgramError } from '../../lib/index.js';
import { roundMicro } from '../../lib/protocol/messages.js';
import { chunk, collector, finals, LINEAR16, resultsWith, serve, wsServer, tones, until } from '../helpers.js';

/** 20 s of speech-like audio. */
const AUDIO = tones(Array.from({ length: 40 }, (_, i) => 0.2 + ((i * 37) % 7) / 10));
const FAST = { interval: 100, timeout: 400 };
// The tests mostly wait for a deadline to pass, each against its own servers: they run side by side.
t.jobs = 4;

/** Writes `audio` in 100 ms pieces, each once the last has been taken, then ends. */
function feed(stream: NodeJS.WritableStream, audio: Buffer): void {
  void pipeline(Readable.from(chunk(audio, 3200)), stream).catch(() => {});
}

t.test('a server that hangs (stops reading and answering, never closes) is a clear DG_TIMEOUT', async (t) => {
  const server = await serve(t, { faults: { hangAfterBytes: 3 * 32000 } });
  const listen = createListenStream({ url: server.url, query: LINEAR16, liveness: FAST });
  const started = performance.now();
  feed(listen, AUDIO);
  listen.resume();
  const [error] = (await once(listen, 'error')) as [DeepgramError];
  const waited = performance.now() - started;
  t.equal(error.code, 'DG_TIMEOUT');
  t.match(error.message, /went quiet: nothing came from the server for 400 ms \(no message, no pong\)/);
  t.ok(waited < 3000, `noticed after ${Math.round(waited)} ms`);
});

t.test(
  'with the defaults, a hung server is noticed within 15 s (before the close timeout): reconnected, or an error',
  async (t) => {
    const server = await serve(t, {
      faults: ({ index }) => (index === 1 || index === 2 ? { hangAfterBytes: 3 * 32000 } : undefined),
    });
    const clean = collector();
    await pipeline(Readable.from(chunk(AUDIO, 3200)), createListenStream({ url: server.url, query: LINEAR16 }), clean);

    const off = createListenStream({ url: server.url, query: LINEAR16 });
    const on = createListenStream({ url: server.url, query: LINEAR16, reconnect: { attempts: 2 } });
    feed(off, AUDIO);
    off.resume();
    const started = performance.now();
    const reconnected = once(on, 'reconnect').then(() => performance.now() - started);
    const sink = collector();
    const [failed, [, sinkDone]] = await Promise.all([
      once(off, 'error').then(([error]) => ({ error: error as DeepgramError, after: performance.now() - started })),
      Promise.all([reconnected, pipeline(Readable.from(chunk(AUDIO, 3200)), on, sink)]),
    ]);
    void sinkDone;
    t.equal(failed.error.code, 'DG_TIMEOUT', `reconnect off: DG_TIMEOUT after ${Math.round(failed.after)} ms`);
    t.ok(failed.after < 15_000, 'before the 15 s close timeout');
    const after = await reconnected;
    t.ok(after < 15_000, `reconnect on: reconnected after ${Math.round(after)} ms`);
    const text = (m: typeof clean.messages) => finals(m).map((f) => [f.start, f.channel.alternatives[0].transcript]);
    t.same(text(sink.messages), text(clean.messages), 'and the transcript is complete');
  },
);

t.test('a Flux session that hangs is noticed too', async (t) => {
  const server = await serve(t, { faults: { hangAfterBytes: 2 * 32000 } });
  const flux = createFluxStream({ url: server.url, query: LINEAR16, liveness: FAST });
  feed(flux, AUDIO);
  flux.resume();
  const [error] = (await once(flux, 'error')) as [DeepgramError];
  t.equal(error.code, 'DG_TIMEOUT');
});

t.test('a reader that pauses does not count against the server, and a slow server is not dead', async (t) => {
  // The server takes audio at 4x real time, so it holds the socket while it works through 8 s written at once.
  const server = await serve(t, { realtimeFactor: 4 });
  const audio = tones(Array.from({ length: 16 }, (_, i) => 0.2 + ((i * 37) % 7) / 10));
  const listen = createListenStream({ url: server.url, query: LINEAR16, liveness: FAST, readableHighWaterMark: 1 });
  feed(listen, audio);
  await once(listen, 'readable');
  // Not read for 2.5 times the timeout: the stream stops reading its socket, and cannot hear the server through it.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const sink = collector();
  await pipeline(listen, sink);
  const last = finals(sink.messages).pop()!;
  t.equal(roundMicro(last.start + last.duration), audio.length / 32000, 'every final arrived, with no DG_TIMEOUT');
});

t.test('a drop while the reader is paused: the new socket is paused at its open, and not taken for dead', async (t) => {
  // A stand-in that answers no ping: the first session sends three results, then is cut off; the second says nothing.
  let sessions = 0;
  const url = await wsServer(
    t,
    (ws) => {
      if (sessions++ > 0) return;
      const result = (start: number) => ({
        type: 'Results',
        channel_index: [0, 1],
        start,
        duration: 1,
        is_final: true,
        speech_final: false,
        channel: { alternatives: [{ transcript: '', confidence: 1, words: [] }] },
      });
      for (let i = 0; i < 3; i++) ws.send(JSON.stringify(result(i)), () => i === 2 && ws.terminate());
    },
    { autoPong: false },
  );
  const listen = createListenStream({
    url,
    query: LINEAR16,
    liveness: FAST,
    readableHighWaterMark: 1, // nobody reads: the first result fills it, and the stream stops reading
    reconnect: { attempts: 3, backoff: { initial: 10, max: 10 } },
  });
  t.teardown(() => listen.destroy());
  // Audio keeps going, as it does live: a write to the cut socket is how the drop is noticed through the pause.
  const feeding = setInterval(() => listen.write(Buffer.alloc(3200)), 20);
  t.teardown(() => clearInterval(feeding));
  let reconnects = 0;
  listen.on('reconnect', () => reconnects++);
  await new Promise<void>((resolve) => listen.on('open', (event) => event.reconnected && resolve()));
  // 2.5 times the timeout: a new socket left reading while the stream is paused would ping, hear nothing, and drop.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(reconnects, 1, 'one drop, one reconnect');
  t.equal(listen.readableLength, 3, 'and the stream holds the three results, none lost');
});

/**
 * A stand-in that sends no message at all: it answers the client's pings (or not), and may ping every 100 ms itself;
 * CloseStream gets a clean close. Counts the pings and pongs it has seen.
 */
async function mute(t: Test, { autoPong, pings }: { autoPong: boolean; pings: boolean }) {
  const seen = { pings: 0, pongs: 0 };
  const connection = (ws: WebSocket) => {
    ws.on('ping', () => seen.pings++).on('pong', () => seen.pongs++);
    ws.on('message', (data, binary) => !binary && String(data).includes('CloseStream') && ws.close(1000));
    const timer = pings ? setInterval(() => ws.ping(), 100) : undefined;
    ws.on('close', () => clearInterval(timer));
  };
  return { url: await wsServer(t, connection, { autoPong }), seen };
}

t.test(
  'a server that sends no message is alive while it answers pings, or pings itself; else DG_TIMEOUT',
  async (t) => {
    const answers = await mute(t, { autoPong: true, pings: false });
    const pinged = createListenStream({ url: answers.url, query: LINEAR16, liveness: FAST });
    const errors: Error[] = [];
    pinged.on('error', (error: Error) => errors.push(error)).resume();
    // Five of its pings answered: past the 400 ms timeout more than twice over, heard only through pongs.
    await until(() => answers.seen.pings >= 5 || errors.length > 0, 'five pings');
    pinged.end();
    await finished(pinged).catch(() => {});
    t.same(errors, [], 'a pong is the server being there');

    const pinging = await mute(t, { autoPong: false, pings: true });
    const pings = createListenStream({ url: pinging.url, query: LINEAR16, liveness: FAST });
    pings.on('error', (error: Error) => errors.push(error)).resume();
    await until(() => pinging.seen.pongs >= 10 || errors.length > 0, 'ten pongs to its pings');
    pings.end();
    await finished(pings).catch(() => {});
    t.same(errors, [], "the server's own ping is it being there");
    t.equal(pinging.seen.pings, 0, 'and the client needs none of its own');

    const silent = await mute(t, { autoPong: false, pings: false });
    const quiet = createListenStream({ url: silent.url, query: LINEAR16, liveness: FAST });
    quiet.resume();
    const [error] = (await once(quiet, 'error')) as [DeepgramError];
    t.equal(error.code, 'DG_TIMEOUT', 'nothing at all: dead');
    t.ok(silent.seen.pings >= 1, 'after its pings went unanswered');
  },
);

t.test('liveness: false turns it off', async (t) => {
  const server = await serve(t, { faults: { hangAfterBytes: 3200 } });
  const listen = createListenStream({ url: server.url, query: LINEAR16, liveness: false, closeTimeout: 600 });
  listen.end(tones([0.5]));
  listen.resume();
  const [error] = (await once(listen, 'error')) as [DeepgramError];
  t.equal(error.code, 'DG_CLOSE_TIMEOUT', 'only the close deadline ends it');
});

/** A stand-in /v2/listen that answers nothing, but sends the same Update every 100 ms, forever. */
function chatty(t: Test): Promise<string> {
  return wsServer(t, (ws) => {
    let sequence_id = 0;
    const send = (m: object) => ws.send(JSON.stringify({ ...m, request_id: 'r', sequence_id: sequence_id++ }));
    send({ type: 'Connected' });
    const update = {
      type: 'TurnInfo',
      event: 'Update',
      turn_index: 0,
      audio_window_start: 0,
      audio_window_end: 0.24,
      transcript: '',
      words: [],
      end_of_turn_confidence: 0,
    };
    const timer = setInterval(() => send(update), 100);
    ws.on('close', () => clearInterval(timer));
  });
}

t.test('Flux end() meets its deadlines against a server that talks without getting anywhere', async (t) => {
  const url = await chatty(t);
  const flux = createFluxStream({ url, query: LINEAR16, endTurnTimeout: 300, closeTimeout: 300 });
  flux.resume();
  const started = performance.now();
  flux.end(tones([0.3]));
  const [error] = (await once(flux, 'error')) as [DeepgramError];
  const waited = performance.now() - started;
  t.equal(error.code, 'DG_CLOSE_TIMEOUT', 'no answer to ForceEndTurn, no close after CloseStream');
  t.ok(waited < 3000, `ended after ${Math.round(waited)} ms, though an Update came every 100 ms`);
});

t.test('a clock that runs past the audio sent is no progress: end() meets its deadline all the same', async (t) => {
  // After CloseStream, a Results every 50 ms, each a second further on than the last, and never a close.
  const url = await wsServer(t, (ws) => {
    let second = 0;
    ws.on('message', (data, binary) => {
      if (binary || !String(data).includes('CloseStream')) return;
      const timer = setInterval(() => ws.send(JSON.stringify(resultsWith([], { start: second++ }))), 50);
      ws.on('close', () => clearInterval(timer));
    });
  });
  const listen = createListenStream({ url, query: LINEAR16, closeTimeout: 300 });
  listen.resume();
  const started = performance.now();
  listen.end(tones([0.5]));
  const [error] = (await once(listen, 'error')) as [DeepgramError];
  const waited = performance.now() - started;
  t.equal(error.code, 'DG_CLOSE_TIMEOUT');
  t.ok(waited < 3000, `ended after ${Math.round(waited)} ms, though each result claimed a second more`);
});
