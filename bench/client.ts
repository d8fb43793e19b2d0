// What each client costs, measured on the client alone: every contender against a server in a child process that
// discards the audio, each run in a process of its own (so that its peak RSS, VmHWM, is its own), rounds
// interleaved, medians. `node build/bench/client.js [--quick]` prints the table; `node build/bench/client.js KIND S`
// is one run. The transcriber decodes a WAV of the same audio with FFmpeg, whose CPU (a process of its own) is not
// counted here: its row is the transcriber's own work around it.
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { deepgramSdk, fluxDuplex, listenDuplex, rawWs, rawWsFlux, transcriber, type Contender } from './contenders.js';
import { childServer, inProcess, median, peakRssMb, RATE, round, speech } from './support.js';

/** The floor the issue names: a plain Writable over ws, fed by the same pipeline(), ending with CloseStream. */
const plainWritable: Contender = async (url, seconds) => {
  const ws = new WebSocket(`${url}/v1/listen?encoding=linear16&sample_rate=${RATE}`, { perMessageDeflate: false });
  const closed = once(ws, 'close');
  await once(ws, 'open');
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => ws.send(chunk, done),
    final: (done) => ws.send('{"type":"CloseStream"}', done),
  });
  await pipeline(speech(seconds), sink);
  await closed;
  return 0;
};

const CONTENDERS: Record<string, Contender> = {
  'plain Writable over ws': plainWritable,
  'raw ws': rawWs,
  'listen Duplex': listenDuplex,
  '@deepgram/sdk 5': deepgramSdk,
  'raw ws (Flux)': rawWsFlux,
  'Flux Duplex': fluxDuplex,
  'createTranscriber (FFmpeg)': transcriber,
};

async function one(kind: string, seconds: number) {
  const server = await childServer('discard');
  const cpu = process.cpuUsage();
  await CONTENDERS[kind](server.url, seconds);
  const used = process.cpuUsage(cpu);
  await server.close();
  return { cpuSecondsPerAudioHour: ((used.user + used.system) / 1e6) * (3600 / seconds), peakRssMb: peakRssMb() };
}

const child = (kind: string, seconds: number) =>
  inProcess<Awaited<ReturnType<typeof one>>>(fileURLToPath(import.meta.url), [kind, seconds]);

/**
 * Rounds: one process's peak RSS moves by 30 MB from run to run, every contender's alike (how far V8 grows its new
 * space, and when a scavenge frees the frames outside the heap: 111 to 141 MB for the plain Writable over 15 runs), so
 * a median of five still swung by 10 MB between runs of the table; of fifteen, a run is about a second.
 */
export async function clientTable(quick: boolean) {
  const [seconds, rounds] = quick ? [600, 3] : [3600, 15];
  const runs = new Map(Object.keys(CONTENDERS).map((kind) => [kind, [] as { cpu: number; rss: number }[]]));
  for (let i = 0; i < rounds; i++)
    for (const kind of Object.keys(CONTENDERS)) {
      const { cpuSecondsPerAudioHour, peakRssMb: rss } = await child(kind, seconds);
      runs.get(kind)!.push({ cpu: cpuSecondsPerAudioHour, rss });
    }
  const floor = runs.get('plain Writable over ws')!;
  const floorRss = median(floor.map((r) => r.rss));
  return {
    audioSeconds: seconds,
    rounds,
    rows: [...runs].map(([name, list]) => ({
      name,
      cpuSecondsPerAudioHour: round(median(list.map((r) => r.cpu)), 3),
      peakRssMb: round(median(list.map((r) => r.rss)), 1),
      peakRssAbovePlainWritableMb: round(median(list.map((r) => r.rss)) - floorRss, 1),
    })),
  };
}

const [kind, seconds] = process.argv.slice(2);
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (kind && kind in CONTENDERS) console.log(JSON.stringify(await one(kind, Number(seconds))));
  else console.log(JSON.stringify(await clientTable(process.argv.includes('--quick')), null, 2));
}
