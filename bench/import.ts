// What importing costs: the RSS of a fresh process that imports `ws` alone, the package's index, and its lean
// `deepgram-stream/streams` entry (no local server, live sources, FFmpeg locator or CLI), median of 5 each,
// interleaved. `node build/bench/import.js` runs just this.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, round } from './support.js';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));

function rssAfterImport(specifier: string): number {
  const code = `await import(${JSON.stringify(specifier)}); console.log(process.memoryUsage().rss)`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }));
}

export function importCost(rounds = 5) {
  const contenders = {
    ws: 'ws',
    'deepgram-stream (index)': dist('index.js'),
    'deepgram-stream/streams': dist('streams.js'),
  };
  const samples = new Map(Object.keys(contenders).map((name) => [name, [] as number[]]));
  for (let i = 0; i < rounds; i++)
    for (const [name, specifier] of Object.entries(contenders)) samples.get(name)!.push(rssAfterImport(specifier));
  const ws = median(samples.get('ws')!);
  return {
    rounds,
    rows: [...samples].map(([name, rss]) => ({
      name,
      rssMiB: round(median(rss) / 1048576, 1),
      aboveWsMiB: round((median(rss) - ws) / 1048576, 1),
    })),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(importCost(), null, 2));
