// The listen Duplex against a raw ws send loop on one hour of linear16 (memory-raw.ts, a process per run), rounds
// interleaved: peak RSS and client CPU per audio hour, medians. `node build/bench/versus.js` runs just this.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inProcess, median, round } from './support.js';

interface Run {
  kind: string;
  peakRssMb: number;
  cpuSecondsPerAudioHour: number;
  wallSeconds: number;
}

const once1 = (kind: 'raw' | 'duplex', seconds: number) =>
  inProcess<Run>(fileURLToPath(new URL('./memory-raw.js', import.meta.url)), [kind, seconds]);

export async function versusRaw(quick: boolean) {
  const seconds = quick ? 600 : 3600;
  const rounds = quick ? 2 : 5;
  const runs: Run[] = [];
  for (let i = 0; i < rounds; i++) for (const kind of ['raw', 'duplex'] as const) runs.push(await once1(kind, seconds));
  const of = (kind: string) => {
    const mine = runs.filter((r) => r.kind === kind);
    return {
      peakRssMb: round(median(mine.map((r) => r.peakRssMb)), 1),
      cpuSecondsPerAudioHour: round(median(mine.map((r) => r.cpuSecondsPerAudioHour)), 3),
      peakRssMbEach: mine.map((r) => r.peakRssMb),
    };
  };
  const raw = of('raw');
  const duplex = of('duplex');
  return {
    audioSeconds: seconds,
    rounds,
    raw,
    duplex,
    rssAboveRawMb: round(duplex.peakRssMb - raw.peakRssMb, 1),
    cpuVsRaw: round(duplex.cpuSecondsPerAudioHour / raw.cpuSecondsPerAudioHour, 2),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { machine } = JSON.parse(
    (await import('node:fs')).readFileSync(new URL('../../bench/results/throughput.json', import.meta.url), 'utf8'),
  );
  const data = {
    machine: { ...machine, date: new Date().toISOString().slice(0, 10) },
    ...(await versusRaw(process.argv.includes('--quick'))),
  };
  writeFileSync(new URL('../../bench/results/versus-raw.json', import.meta.url), `${JSON.stringify(data, null, 2)}\n`);
  console.log(JSON.stringify(data, null, 2));
  (await import('./summary.js')).publish();
}
