// The local server's own capacity: `deepgram-stream serve` in a process of its own (with its workers), and a load of
// real-time streams of speech from this process (a `ws` each, the cheapest client): 100 ms of linear16 every 100 ms
// for `seconds`, then CloseStream. Per stream: whether it closed normally (1000, after its Metadata) and how long
// after CloseStream its last final came. The server's CPU (every process of it, from /proc) gives streams per core.
// `node build/bench/serve.js [--quick]` runs the rows; `node build/bench/serve.js STREAMS SECONDS WORKERS` one.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { percentile, RATE, round, speechChunks } from './support.js';

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));
const FRAMES = speechChunks(10);
const TICK_MS = 100;

interface Outcome {
  code: number;
  /** Milliseconds from CloseStream to the last final (or to Metadata, when there was none after it). */
  lastFinalMs: number;
}

/** CPU seconds used so far by a process and every process under it (Linux). */
function treeCpuSeconds(pid: number): number {
  const ticks = (p: number): number => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const children = readdirSync(`/proc/${p}/task`).flatMap((task) =>
        readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
      );
      return Number(fields[11]) + Number(fields[12]) + children.reduce((sum, child) => sum + ticks(child), 0);
    } catch {
      return 0; // gone in between
    }
  };
  return ticks(pid) / 100; // USER_HZ
}

function stream(url: string, frames: number, startIn: number): Promise<Outcome> {
  const ws = new WebSocket(`${url}/v1/listen?encoding=linear16&sample_rate=${RATE}&punctuate=true`, {
    perMessageDeflate: false,
  });
  let closeSent = 0;
  let lastFinal = 0;
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if ((message.type === 'Results' && message.is_final) || (message.type === 'Metadata' && !lastFinal))
      lastFinal = performance.now();
  });
  ws.on('error', () => {});
  ws.once('open', () => {
    let sent = 0;
    const send = () => {
      if (ws.readyState !== WebSocket.OPEN) return clearInterval(timer);
      if (sent < frames) return ws.send(FRAMES[sent++ % FRAMES.length]);
      clearInterval(timer);
      closeSent = performance.now();
      ws.send('{"type":"CloseStream"}');
    };
    const timer = setInterval(send, TICK_MS);
    setTimeout(send, startIn);
  });
  return once(ws, 'close').then(([code]) => ({
    code: Number(code),
    lastFinalMs: closeSent && lastFinal ? lastFinal - closeSent : Infinity,
  }));
}

/** `streams` real-time streams at once, opened a few at a time, each ticking at its own offset as live calls do. */
export async function load(url: string, streams: number, seconds: number): Promise<Outcome[]> {
  const outcomes: Promise<Outcome>[] = [];
  for (let i = 0; i < streams; i++) {
    outcomes.push(stream(url, seconds * 10, (i * 7) % TICK_MS));
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  return Promise.all(outcomes);
}

export async function serveRow(streams: number, seconds: number, workers: number) {
  const server = spawn(process.execPath, [
    CLI,
    'serve',
    '--port',
    '0',
    '--workers',
    String(workers),
    '--max-connections',
    String(streams * 2),
  ]);
  server.stderr.resume();
  let banner = '';
  for await (const chunk of server.stdout) {
    banner += chunk;
    if (banner.includes('\n')) break;
  }
  const url = /ws:\/\/[^\s:]+:\d+/.exec(banner)![0];
  const cpuBefore = treeCpuSeconds(server.pid!);
  const started = performance.now();
  const results = await load(url, streams, seconds);
  const wall = (performance.now() - started) / 1000;
  const cores = (treeCpuSeconds(server.pid!) - cpuBefore) / wall;
  server.kill('SIGTERM');
  await once(server, 'exit');
  const delays = results.map((r) => r.lastFinalMs);
  return {
    streams,
    workers,
    seconds,
    closedNormally: results.filter((r) => r.code === 1000 && Number.isFinite(r.lastFinalMs)).length,
    lastFinalP50Ms: round(percentile(delays, 50), 0),
    lastFinalP99Ms: round(percentile(delays, 99), 0),
    serverCores: round(cores, 2),
    streamsPerCore: round(streams / cores, 0),
  };
}

/** 2,000 real-time streams against the server in one process, then with a worker per core (serve's default). */
export async function serveCapacity(quick: boolean) {
  const seconds = quick ? 10 : 20;
  const rows = [];
  for (const workers of [0, availableParallelism()]) rows.push(await serveRow(2000, seconds, workers));
  return { rows };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [streams, seconds, workers] = process.argv.slice(2).map(Number);
  if (streams) console.log(JSON.stringify(await serveRow(streams, seconds, workers)));
  else console.log(JSON.stringify(await serveCapacity(process.argv.includes('--quick')), null, 2));
}
