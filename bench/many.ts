// A thousand live streams from one process (a call bridge's shape): each sends 100 ms of linear16 every 100 ms for
// `seconds`, then CloseStream, to a server in a child process that discards the audio. One run per process, so that
// its CPU and peak RSS (VmHWM) are its own: a `ws` per stream (the floor), or a listen Duplex per stream; the same
// on Flux's path (a `ws` per stream, or a Flux Duplex per stream); and a bare Duplex per stream over its ws, what
// Node's stream layer alone adds. `node build/bench/many.js [--quick]` runs them all (five interleaved rounds, each
// ratio the median of the rounds' own; one round with --quick) and prints the ratios;
// `node build/bench/many.js ws|bare|duplex|ws-flux|flux N S [warm]` is one run. The warm rows measure the same after
// a warm-up of N streams in the same process (see `WARM`): a process that has run a while, its code compiled.
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createFluxStream, createListenStream } from '../lib/index.js';
import { childServer, inProcess, median, peakRssMb, RATE, round, speechChunks } from './support.js';

const FRAME = speechChunks(0.1)[0]; // 100 ms

/** One stream's sender: write a frame, and end. */
interface Sender {
  write(frame: Buffer): void;
  end(): void;
  done: Promise<unknown>;
}

/**
 * A `ws` per stream, the floor: frames written before the socket opens wait for it (as the Duplex holds them), so
 * that both send every frame; Flux's path ends its turn first, as the Flux Duplex does.
 */
function rawStream(url: string, flux: boolean): Sender {
  const path = flux ? '/v2/listen?model=flux-general-en&' : '/v1/listen?';
  const ws = new WebSocket(`${url}${path}encoding=linear16&sample_rate=${RATE}`, { perMessageDeflate: false });
  let turnEnded = () => {};
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (message.type === 'Warning' || message.event === 'EndOfTurn') turnEnded();
  });
  const early: Buffer[] = [];
  const opened = once(ws, 'open').then(() => early.splice(0).forEach((frame) => ws.send(frame)));
  const ended = flux ? new Promise<void>((resolve) => (turnEnded = resolve)) : Promise.resolve();
  return {
    write: (frame) => (ws.readyState === ws.OPEN ? ws.send(frame) : early.push(frame)),
    end: () =>
      void opened.then(() => {
        if (flux) ws.send('{"type":"ForceEndTurn"}');
        void ended.then(() => ws.send('{"type":"CloseStream"}'));
      }),
    done: once(ws, 'close'),
  };
}

function duplexStream(url: string, flux: boolean): Sender {
  const query = { encoding: 'linear16', sample_rate: RATE } as const;
  const listen = flux ? createFluxStream({ url, query }) : createListenStream({ url, query });
  listen.resume();
  return { write: (frame) => listen.write(frame), end: () => listen.end(), done: once(listen, 'close') };
}

/**
 * The least a Node stream adds: a bare Duplex per stream over its ws, in the listen Duplex's modes (object-mode
 * readable side, resumed), a write done as soon as ws has it (as a real-time write that fits is, in the listen
 * Duplex), messages parsed and pushed; no keep-alive, no liveness, no checks, no Metadata.
 */
function bareStream(url: string): Sender {
  const ws = new WebSocket(`${url}/v1/listen?encoding=linear16&sample_rate=${RATE}`, { perMessageDeflate: false });
  const opened = once(ws, 'open');
  const send = (data: Buffer | string, done: () => void) => {
    ws.send(data);
    done();
  };
  const duplex = new Duplex({
    readableObjectMode: true,
    write: (chunk: Buffer, _encoding, done) =>
      ws.readyState === ws.OPEN ? send(chunk, done) : void opened.then(() => send(chunk, done)),
    final: (done) => void opened.then(() => send('{"type":"CloseStream"}', done)),
    read: () => {},
  });
  ws.on('message', (data) => duplex.push(JSON.parse(data.toString())));
  ws.on('close', () => duplex.push(null));
  duplex.resume();
  return { write: (frame) => duplex.write(frame), end: () => duplex.end(), done: once(duplex, 'close') };
}

type Kind = 'ws' | 'bare' | 'duplex' | 'ws-flux' | 'flux';
const KINDS: Kind[] = ['ws', 'bare', 'duplex', 'ws-flux', 'flux'];

/** Streams fed a frame every 100 ms for `ticks`. */
async function play(streams: Sender[], ticks: number) {
  for (let tick = 0; tick < ticks; tick++) {
    for (const stream of streams) stream.write(FRAME);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Streams ended; resolves once all have closed. */
async function endAll(streams: Sender[]) {
  for (const stream of streams) stream.end();
  await Promise.all(streams.map((s) => s.done));
}

async function run(kind: Kind, count: number, seconds: number, warm = false) {
  const server = await childServer('discard');
  const flux = kind === 'ws-flux' || kind === 'flux';
  const make = kind === 'ws' || kind === 'ws-flux' ? rawStream : kind === 'bare' ? bareStream : duplexStream;
  // One stream first, fed and closed, so that what is allocated on first use counts once, not per stream; warm, as many
  // streams as are measured, for 2 s, so that what the optimizing compiler does on first use is done too.
  const first = Array.from({ length: warm ? count : 1 }, () => make(server.url, flux));
  await play(first, warm ? 20 : 1);
  await endAll(first);
  const baseline = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const streams = Array.from({ length: count }, () => make(server.url, flux));
  const made = process.cpuUsage(cpu);
  await play(streams, seconds * 10);
  const rssWhileOpen = process.memoryUsage().rss;
  const ran = process.cpuUsage(cpu);
  await endAll(streams);
  const used = process.cpuUsage(cpu);
  await server.close();
  const inSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;
  return {
    kind,
    streams: count,
    seconds,
    cpuSeconds: round(inSeconds(used), 2),
    // Where it went: making the streams (synchronous), the audio (their opening in its first ticks), closing them.
    makeCpuSeconds: round(inSeconds(made), 2),
    audioCpuSeconds: round(inSeconds(ran) - inSeconds(made), 2),
    closeCpuSeconds: round(inSeconds(used) - inSeconds(ran), 2),
    rssPerStreamKiB: round((rssWhileOpen - baseline) / 1024 / count, 1),
    peakRssMb: peakRssMb(),
  };
}

type Run = Awaited<ReturnType<typeof run>>;

/**
 * Node's flags for a warm run: after the warm-up's streams are gone, the heap holds about 10 MB, and V8 then sets the
 * old generation's limit so close above it that it collects the whole heap every second, slowing either contender by
 * a fifth (seen with `--trace-gc`); a long-lived process, holding more, has the room this gives.
 */
const WARM = ['--initial-old-space-size=256'];

const child = (kind: string, count: number, seconds: number, warm = false) =>
  inProcess<Run>(fileURLToPath(import.meta.url), [kind, count, seconds, ...(warm ? ['warm'] : [])], warm ? WARM : []);

/** Each figure's median over the rounds. */
function medianRun(runs: Run[]): Run & { rounds: number } {
  const of = (field: Exclude<keyof Run, 'kind'>) => median(runs.map((r) => r[field]));
  return {
    ...runs[0],
    cpuSeconds: of('cpuSeconds'),
    rssPerStreamKiB: of('rssPerStreamKiB'),
    peakRssMb: of('peakRssMb'),
    makeCpuSeconds: of('makeCpuSeconds'),
    audioCpuSeconds: of('audioCpuSeconds'),
    closeCpuSeconds: of('closeCpuSeconds'),
    rounds: runs.length,
  };
}

export async function manyStreams(quick: boolean) {
  // Interleaved rounds, every other one in reverse order: this machine's noise moves a run by 10 to 20%, and moves the
  // runs of a round alike, so a ratio is taken within each round, and the median of the rounds' ratios is the figure.
  const [count, seconds, rounds] = quick ? [1000, 10, 1] : [1000, 20, 5];
  const interleaved = async (kinds: Kind[], n: number, warm = false) => {
    const runs = new Map<Kind, Run[]>(kinds.map((kind) => [kind, []]));
    for (let round = 0; round < n; round++)
      for (const kind of round % 2 ? [...kinds].reverse() : kinds)
        runs.get(kind)!.push(await child(kind, count, seconds, warm));
    return runs;
  };
  const runs = await interleaved(KINDS, rounds);
  const [ws, bare, duplex, wsFlux, flux] = KINDS.map((kind) => medianRun(runs.get(kind)!));
  // The warm rows: fewer rounds, and no bare Duplex (what Node's stream layer adds is the cold rows' question).
  const warmRuns = await interleaved(['ws', 'duplex', 'ws-flux', 'flux'], quick ? 1 : 3, true);
  const versus = (mine: Kind, floor: Kind, of = runs) => {
    const pairs = of.get(mine)!.map((run, i) => [run, of.get(floor)![i]] as const);
    const cpuRatios = pairs.map(([a, b]) => round(a.cpuSeconds / b.cpuSeconds, 2));
    return {
      cpuVsWs: round(median(cpuRatios), 2),
      cpuRatios,
      rssPerStreamAboveWsKiB: round(median(pairs.map(([a, b]) => a.rssPerStreamKiB - b.rssPerStreamKiB)), 1),
    };
  };
  return {
    ws,
    duplex,
    ...versus('duplex', 'ws'),
    bare,
    bareVersus: versus('bare', 'ws'),
    wsFlux,
    flux,
    fluxVersus: versus('flux', 'ws-flux'),
    warm: {
      rounds: warmRuns.get('ws')!.length,
      ws: medianRun(warmRuns.get('ws')!),
      duplex: medianRun(warmRuns.get('duplex')!),
      versus: versus('duplex', 'ws', warmRuns),
      wsFlux: medianRun(warmRuns.get('ws-flux')!),
      flux: medianRun(warmRuns.get('flux')!),
      fluxVersus: versus('flux', 'ws-flux', warmRuns),
    },
  };
}

const [kind, count, seconds, warm] = process.argv.slice(2);
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const one = KINDS.find((k) => k === kind);
  if (one) console.log(JSON.stringify(await run(one, Number(count), Number(seconds), warm === 'warm')));
  else console.log(JSON.stringify(await manyStreams(process.argv.includes('--quick')), null, 2));
}
