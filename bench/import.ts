// What importing costs: for `ws` alone, the package (the streams; the local server, live sources, FFmpeg's decoder
// and the CLI have entries of their own), and the package with `deepgram-stream/audio` beside it (a file pipeline's
// imports), median of 11 each, interleaved, each in a fresh process. Three readings: the peak RSS (VmHWM) of
// `node -e "import(...)"` itself, the command, at its exit; the RSS right after the import, which moves by
// a few MiB with whether V8 has grown its young generation yet (it does for `ws` too, about 20 ms later); and what
// the import holds: heap in use plus memory outside the heap, after a full GC. `node build/bench/import.js` runs
// just this.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, round } from './support.js';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));

interface Sample {
  peak: number;
  rss: number;
  held: number;
}

const node = (args: string[]) => JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));

/** The three readings of importing `specifiers`, the first from a process that does nothing else. */
function afterImport(specifiers: string[]): Sample {
  // The imports one after another, as a promise: the command is a script (CommonJS), the second a module.
  const steps = specifiers.map((specifier) => `.then(() => import(${JSON.stringify(specifier)}))`);
  const imports = `Promise.resolve()${steps.join('')}`;
  const peakAtExit =
    "process.on('exit', () => console.log(require('node:fs').readFileSync('/proc/self/status', 'utf8')" +
    '.match(/VmHWM:\\s+(\\d+)/)[1] * 1024));';
  const peak: number = node(['-e', `${peakAtExit} ${imports};`]);
  const code = [
    `await ${imports};`,
    'const { rss } = process.memoryUsage();',
    'gc();',
    'const { heapUsed, external } = process.memoryUsage();',
    'console.log(JSON.stringify({ rss, held: heapUsed + external }));',
  ].join(' ');
  return { peak, ...node(['--expose-gc', '--input-type=module', '-e', code]) };
}

export function importCost(rounds = 11) {
  const contenders = {
    ws: ['ws'],
    'deepgram-stream': [dist('index.js')],
    'deepgram-stream and /audio': [dist('index.js'), dist('audio/index.js')],
  };
  const samples = new Map(Object.keys(contenders).map((name) => [name, [] as Sample[]]));
  for (let i = 0; i < rounds; i++)
    for (const [name, specifier] of Object.entries(contenders)) samples.get(name)!.push(afterImport(specifier));
  const of = (name: string, field: keyof Sample) => median(samples.get(name)!.map((sample) => sample[field]));
  const mib = (bytes: number) => round(bytes / 1048576, 1);
  return {
    rounds,
    rows: [...samples.keys()].map((name) => ({
      name,
      peakMiB: mib(of(name, 'peak')),
      peakAboveWsMiB: mib(of(name, 'peak') - of('ws', 'peak')),
      rssMiB: mib(of(name, 'rss')),
      aboveWsMiB: mib(of(name, 'rss') - of('ws', 'rss')),
      heldMiB: mib(of(name, 'held')),
      heldAboveWsMiB: mib(of(name, 'held') - of('ws', 'held')),
    })),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(importCost(), null, 2));
