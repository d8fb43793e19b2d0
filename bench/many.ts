// A thousand live streams from one process (a call bridge's shape): each sends 100 ms of linear16 every 100 ms for
// `seconds`, then CloseStream, to a server in a child process that discards the audio. One run per process, so that
// its CPU and peak RSS (VmHWM) are its own: a `ws` per stream (the floor), or a listen Duplex per stream.
// `node build/bench/many.js [--quick]` runs both and prints the ratios; `node build/bench/many.js ws|duplex N S`
// is one run.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createListenStream } from '../lib/index.js';
import { childServer, inProcess, peakRssMb, RATE, round, speechChunks } from './support.js';

const FRAME = speechChunks(0.1)[0]; // 100 ms

/** One stream's sender: write a frame, and end. */
interface Sender {
  write(frame: Buffer): void;
  end(): void;
  done: Promise<unknown>;
}

function rawStream(url: string): Sender {
  const ws = new WebSocket(`${url}/v1/listen?encoding=linear16&sample_rate=${RATE}`, { perMessageDeflate: false });
  ws.on('message', (data) => JSON.parse(data.toString()));
  const opened = once(ws, 'open');
  return {
    write: (frame) => ws.readyState === ws.OPEN && ws.send(frame),
    end: () => void opened.then(() => ws.send('{"type":"CloseStream"}')),
    done: once(ws, 'close'),
  };
}

function duplexStream(url: string): Sender {
  const listen = createListenStream({ url, query: { encoding: 'linear16', sample_rate: RATE } });
  listen.resume();
  return { write: (frame) => listen.write(frame), end: () => listen.end(), done: once(listen, 'close') };
}

async function run(kind: 'ws' | 'duplex', count: number, seconds: number) {
  const server = await childServer('discard');
  const baseline = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const streams = Array.from({ length: count }, () => (kind === 'ws' ? rawStream : duplexStream)(server.url));
  for (let tick = 0; tick < seconds * 10; tick++) {
    for (const stream of streams) stream.write(FRAME);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const rssWhileOpen = process.memoryUsage().rss;
  for (const stream of streams) stream.end();
  await Promise.all(streams.map((s) => s.done));
  const used = process.cpuUsage(cpu);
  await server.close();
  return {
    kind,
    streams: count,
    seconds,
    cpuSeconds: round((used.user + used.system) / 1e6, 2),
    rssPerStreamKiB: round((rssWhileOpen - baseline) / 1024 / count, 1),
    peakRssMb: peakRssMb(),
  };
}

const child = (kind: string, count: number, seconds: number) =>
  inProcess<Awaited<ReturnType<typeof run>>>(fileURLToPath(import.meta.url), [kind, count, seconds]);

export async function manyStreams(quick: boolean) {
  const [count, seconds] = quick ? [1000, 10] : [1000, 20];
  const ws = await child('ws', count, seconds);
  const duplex = await child('duplex', count, seconds);
  return {
    ws,
    duplex,
    cpuVsWs: round(duplex.cpuSeconds / ws.cpuSeconds, 2),
    rssPerStreamAboveWsKiB: round(duplex.rssPerStreamKiB - ws.rssPerStreamKiB, 1),
  };
}

const [kind, count, seconds] = process.argv.slice(2);
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (kind === 'ws' || kind === 'duplex') console.log(JSON.stringify(await run(kind, Number(count), Number(seconds))));
  else console.log(JSON.stringify(await manyStreams(process.argv.includes('--quick')), null, 2));
}
