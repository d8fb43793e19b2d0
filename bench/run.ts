// npm run bench: every figure side by side in one run, against the local server with its throttle off.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { deepgramSdk, fluxDuplex, listenDuplex, rawWs, rawWsFlux, transcriber, type Contender } from './contenders.js';
import { BYTES_PER_SECOND, childServer, inProcess, measure, median, round } from './support.js';
import { latency, scale } from './latency.js';
import { decoding } from './decoding.js';
import { batch } from './batch.js';
import { versusRaw } from './versus.js';
import { replayCost } from './replay.js';
import { voice } from './voice.js';
import { importCost } from './import.js';
import { manyStreams } from './many.js';
import { clientTable } from './client.js';
import { serveCapacity } from './serve.js';
import { publish } from './summary.js';

const results = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(results, { recursive: true });
const quick = process.argv.includes('--quick');
const save = (name: string, data: unknown) => {
  writeFileSync(`${results}${name}.json`, `${JSON.stringify(data, null, 2)}\n`);
  console.log(name, JSON.stringify(data, null, 2));
};

async function throughput() {
  const seconds = quick ? 120 : 1800;
  const rounds = quick ? 2 : 5;
  // Each with the raw ws loop doing its job as the floor it is measured against.
  const contenders: [string, Contender, string][] = [
    ['raw ws', rawWs, 'raw ws'],
    ['listen Duplex', listenDuplex, 'raw ws'],
    ['createTranscriber (FFmpeg)', transcriber, 'raw ws'],
    ['@deepgram/sdk 5', deepgramSdk, 'raw ws'],
    ['raw ws (Flux)', rawWsFlux, 'raw ws (Flux)'],
    ['Flux Duplex', fluxDuplex, 'raw ws (Flux)'],
  ];
  const server = await childServer('local');
  const samples = new Map<string, { wallMs: number; cpuMs: number; messages: number }[]>(
    contenders.map(([n]) => [n, []]),
  );
  await listenDuplex(server.url, 10); // warm up the server and the JIT
  for (let round = 0; round < rounds; round++) {
    // Interleaved, so that drift in the machine touches every contender alike.
    for (const [name, run] of contenders) {
      const { wallMs, cpuMs, result } = await measure(() => run(server.url, seconds));
      samples.get(name)!.push({ wallMs, cpuMs, messages: result });
    }
  }
  await server.close();
  const rows = contenders.map(([name, , floor]) => {
    const s = samples.get(name)!;
    const wall = median(s.map((x) => x.wallMs));
    const cpu = median(s.map((x) => x.cpuMs));
    return {
      name,
      audioSecondsPerSecond: round(seconds / (wall / 1000), 0),
      megabytesPerSecond: round((seconds * BYTES_PER_SECOND) / 1e6 / (wall / 1000), 1),
      cpuSecondsPerAudioHour: round((cpu / 1000) * (3600 / seconds), 3),
      messages: s[0].messages,
      floor,
    };
  });
  const speed = (name: string) => rows.find((r) => r.name === name)!.audioSecondsPerSecond;
  return {
    audioSeconds: seconds,
    rounds,
    rows: rows.map(({ floor, ...r }) => ({ ...r, vsRawWs: round(r.audioSecondsPerSecond / speed(floor), 2) })),
  };
}

/** Each memory scenario in a fresh process, so that its peak RSS is its own. */
async function memory() {
  const hours = quick ? 0.5 : 10;
  const scenarios = [
    ['full speed', { hours }],
    ['throttled server (1.25x)', { seconds: quick ? 20 : 60, realtimeFactor: 1.25 }],
    ['slow consumer', { seconds: quick ? 600 : 3600, slowConsumer: true }],
  ] as const;
  const rows = [];
  for (const [name, options] of scenarios) {
    const script = fileURLToPath(new URL('./memory.js', import.meta.url));
    rows.push({ name, ...(await inProcess<object>(script, [JSON.stringify(options)])) });
  }
  return { rows };
}

const all = {
  machine: { cpus: availableParallelism(), node: process.version, date: new Date().toISOString().slice(0, 10) },
  throughput: await throughput(),
  latency: await latency(quick),
  memory: await memory(),
  'versus-raw': await versusRaw(quick),
  replay: await replayCost(quick),
  scale: await scale(quick),
  decoding: await decoding(quick),
  batch: await batch(quick),
  voice: await voice(quick),
  import: importCost(),
  many: await manyStreams(quick),
  client: await clientTable(quick),
  serve: await serveCapacity(quick),
};
for (const [name, data] of Object.entries(all))
  if (name !== 'machine') save(name, { machine: all.machine, ...(data as object) });
publish();
console.log(`wrote ${results}*.json and chart.svg, and the README's figures`);
