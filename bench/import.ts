// What importing costs: the RSS of a fresh process that imports `ws` alone, the package (the streams; the local
// server, live sources, FFmpeg's decoder and the CLI have entries of their own), and the package with
// `deepgram-stream/audio` beside it (a file pipeline's imports), median of 11 each, interleaved. A process's RSS
// right after an import moves by a few MiB from run to run, with when V8 grows its heap (importing `ws` first, then
// the package, reads about as `ws` alone); what the import holds is steadier: heap in use plus memory outside the
// heap, after a full GC. `node build/bench/import.js` runs just this.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, round } from './support.js';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));

/** RSS right after importing `specifiers`, and what stays (heap used and external memory) after a full GC. */
function afterImport(specifiers: string[]): { rss: number; held: number } {
  const code = [
    ...specifiers.map((specifier) => `await import(${JSON.stringify(specifier)});`),
    'const { rss } = process.memoryUsage();',
    'gc();',
    'const { heapUsed, external } = process.memoryUsage();',
    'console.log(JSON.stringify({ rss, held: heapUsed + external }));',
  ].join(' ');
  const args = ['--expose-gc', '--input-type=module', '-e', code];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));
}

export function importCost(rounds = 11) {
  const contenders = {
    ws: ['ws'],
    'deepgram-stream': [dist('index.js')],
    'deepgram-stream and /audio': [dist('index.js'), dist('audio/index.js')],
  };
  const samples = new Map(Object.keys(contenders).map((name) => [name, [] as { rss: number; held: number }[]]));
  for (let i = 0; i < rounds; i++)
    for (const [name, specifier] of Object.entries(contenders)) samples.get(name)!.push(afterImport(specifier));
  const of = (name: string, field: 'rss' | 'held') => median(samples.get(name)!.map((sample) => sample[field]));
  const mib = (bytes: number) => round(bytes / 1048576, 1);
  return {
    rounds,
    rows: [...samples.keys()].map((name) => ({
      name,
      rssMiB: mib(of(name, 'rss')),
      aboveWsMiB: mib(of(name, 'rss') - of('ws', 'rss')),
      heldMiB: mib(of(name, 'held')),
      heldAboveWsMiB: mib(of(name, 'held') - of('ws', 'held')),
    })),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(importCost(), null, 2));
