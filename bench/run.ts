// npm run bench: every figure side by side in one run, against the local server with its throttle off.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { inProcess } from './support.js';
import { throughput } from './throughput.js';
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
  throughput: await throughput(quick),
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
