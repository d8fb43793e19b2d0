// Latency the client adds (server send → object read), against an echo server in its own process whose
// messages carry their send time; and many streams at once.
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { createFluxStream, createListenStream } from '../lib/index.js';
import { childServer, clock, percentile, RATE, round, speech, speechChunks } from './support.js';

const QUERY = { encoding: 'linear16', sample_rate: RATE } as const;
const FRAME = speechChunks(0.1)[0];

/** An answer to a frame, stamped with its send time (the final after CloseStream is not one: it carries none). */
const echoed = (message: { type: string; sent?: number }, flux: boolean): message is { type: string; sent: number } =>
  message.type === (flux ? 'TurnInfo' : 'Results') && typeof message.sent === 'number';

/** Sends `frames` frames, one every `gapMs`, and returns the latency of each answer as read. */
async function rawWs(url: string, frames: number, gapMs: number, flux = false): Promise<number[]> {
  const latencies: number[] = [];
  const ws = new WebSocket(`${url}${flux ? '/v2/listen' : '/v1/listen'}`, { perMessageDeflate: false });
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (echoed(message, flux)) latencies.push(clock() - message.sent);
  });
  await once(ws, 'open');
  for (let i = 0; i < frames; i++) {
    ws.send(FRAME);
    await sleep(gapMs);
  }
  const closed = once(ws, 'close');
  ws.send('{"type":"CloseStream"}');
  await closed;
  return latencies;
}

async function duplex(url: string, frames: number, gapMs: number, flux = false): Promise<number[]> {
  const latencies: number[] = [];
  // 500 streams dial one server process at once: its upgrades can take more than the default 10 s.
  const options = { url, query: QUERY, connectTimeout: 60_000 };
  const listen = flux ? createFluxStream(options) : createListenStream(options);
  const reading = pipeline(
    listen,
    new Writable({
      objectMode: true,
      write(message: { type: string; sent?: number }, _e, done) {
        if (echoed(message, flux)) latencies.push(clock() - message.sent);
        done();
      },
    }),
  );
  for (let i = 0; i < frames; i++) {
    listen.write(FRAME);
    await sleep(gapMs);
  }
  listen.end();
  await reading;
  return latencies;
}

/** Read latency of the Duplex and of raw ws, interleaved, against the echo server; /v1 or Flux. */
async function readLatency(quick: boolean, flux: boolean) {
  const server = await childServer('echo');
  const frames = quick ? 500 : 3000;
  const raw: number[] = [];
  const ours: number[] = [];
  await duplex(server.url, 100, 1, flux);
  for (let round = 0; round < (quick ? 2 : 4); round++) {
    raw.push(...(await rawWs(server.url, frames, 1, flux)));
    ours.push(...(await duplex(server.url, frames, 1, flux)));
  }
  await server.close();
  const p = (values: number[], q: number) => round(percentile(values, q), 3);
  return {
    messages: ours.length,
    rawWs: { p50: p(raw, 50), p99: p(raw, 99) },
    listenDuplex: { p50: p(ours, 50), p99: p(ours, 99) },
    addedMs: { p50: round(p(ours, 50) - p(raw, 50), 3), p99: round(p(ours, 99) - p(raw, 99), 3) },
  };
}

export async function latency(quick: boolean) {
  return { ...(await readLatency(quick, false)), flux: await readLatency(quick, true) };
}

export async function scale(quick: boolean) {
  const rows = [];
  for (const streams of quick ? [1, 10, 100] : [1, 10, 100, 500]) {
    // Throughput: every stream sends its audio as fast as the local server takes it.
    const local = await childServer('local');
    const seconds = quick ? 10 : 30;
    const started = performance.now();
    const sink = () => new Writable({ objectMode: true, write: (_m, _e, done) => done() });
    await Promise.all(
      Array.from({ length: streams }, () =>
        pipeline(speech(seconds), createListenStream({ url: local.url, query: QUERY, connectTimeout: 60_000 }), sink()),
      ),
    );
    const wall = (performance.now() - started) / 1000;
    await local.close();
    // Latency: every stream sends a 100 ms frame every 100 ms, as live audio does, for 5 s.
    const echo = await childServer('echo');
    const latencies = (
      await Promise.all(Array.from({ length: streams }, () => duplex(echo.url, quick ? 20 : 50, 100)))
    ).flat();
    await echo.close();
    rows.push({
      streams,
      audioSecondsPerSecond: round((streams * seconds) / wall, 0),
      p50Ms: round(percentile(latencies, 50), 3),
      p99Ms: round(percentile(latencies, 99), 3),
    });
  }
  return { rows };
}
