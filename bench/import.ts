// What importing costs: the RSS of a fresh process that imports `ws` alone, the package (the streams; the local
// server, live sources, FFmpeg's decoder and the CLI have entries of their own), and the package with
// `deepgram-stream/audio` beside it (a file pipeline's imports), median of 11 each, interleaved (a process's RSS
// after an import moves by a few MiB from run to run). `node build/bench/import.js` runs just this.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, round } from './support.js';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));

function rssAfterImport(specifiers: string[]): number {
  const imports = specifiers.map((specifier) => `await import(${JSON.stringify(specifier)});`).join(' ');
  const code = `${imports} console.log(process.memoryUsage().rss)`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }));
}

export function importCost(rounds = 11) {
  const contenders = {
    ws: ['ws'],
    'deepgram-stream': [dist('index.js')],
    'deepgram-stream and /audio': [dist('index.js'), dist('audio/index.js')],
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
