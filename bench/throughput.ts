// Throughput against the local server (in a child process, its throttle off): 30 minutes of audio as fast as each
// contender sends it, each run in a process of its own (run in one process, each contender inherited the heap and
// the compiled code of those before it, and the order moved the ratios), five interleaved rounds, medians.
// `node build/bench/throughput.js NAME URL SECONDS` is one run against a server already started.
import { fileURLToPath } from 'node:url';
import { deepgramSdk, fluxDuplex, listenDuplex, rawWs, rawWsFlux, transcriber, type Contender } from './contenders.js';
import { BYTES_PER_SECOND, childServer, inProcess, measure, median, round } from './support.js';

/** Each contender, and the raw ws loop doing its job: the floor it is measured against. */
const CONTENDERS: Record<string, [Contender, string]> = {
  'raw ws': [rawWs, 'raw ws'],
  'listen Duplex': [listenDuplex, 'raw ws'],
  'createTranscriber (FFmpeg)': [transcriber, 'raw ws'],
  '@deepgram/sdk 5': [deepgramSdk, 'raw ws'],
  'raw ws (Flux)': [rawWsFlux, 'raw ws (Flux)'],
  'Flux Duplex': [fluxDuplex, 'raw ws (Flux)'],
};

type Run = { wallMs: number; cpuMs: number; messages: number };

/** One contender's run, after a short one first: what is compiled on first use is paid before, as in a process that
 * has been running. */
async function one(name: string, url: string, seconds: number): Promise<Run> {
  const run = CONTENDERS[name][0];
  await run(url, 10);
  const { wallMs, cpuMs, result } = await measure(() => run(url, seconds));
  return { wallMs, cpuMs, messages: result };
}

export async function throughput(quick: boolean) {
  const seconds = quick ? 120 : 1800;
  const rounds = quick ? 2 : 5;
  const server = await childServer('local');
  const script = fileURLToPath(import.meta.url);
  await inProcess<Run>(script, ['listen Duplex', server.url, 10]); // the server warms up too
  const samples = new Map<string, Run[]>(Object.keys(CONTENDERS).map((name) => [name, []]));
  // Interleaved, so that drift in the machine touches every contender alike.
  for (let i = 0; i < rounds; i++)
    for (const name of Object.keys(CONTENDERS))
      samples.get(name)!.push(await inProcess<Run>(script, [name, server.url, seconds]));
  await server.close();
  const rows = Object.entries(CONTENDERS).map(([name, [, floor]]) => {
    const runs = samples.get(name)!;
    const wall = median(runs.map((r) => r.wallMs));
    return {
      name,
      floor,
      audioSecondsPerSecond: round(seconds / (wall / 1000), 0),
      megabytesPerSecond: round((seconds * BYTES_PER_SECOND) / 1e6 / (wall / 1000), 1),
      cpuSecondsPerAudioHour: round((median(runs.map((r) => r.cpuMs)) / 1000) * (3600 / seconds), 3),
      messages: runs[0].messages,
    };
  });
  const speed = (name: string) => rows.find((r) => r.name === name)!.audioSecondsPerSecond;
  return {
    audioSeconds: seconds,
    rounds,
    rows: rows.map(({ floor, ...r }) => ({ ...r, vsRawWs: round(r.audioSecondsPerSecond / speed(floor), 2) })),
  };
}

const [name, url, seconds] = process.argv.slice(2);
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (name && name in CONTENDERS) console.log(JSON.stringify(await one(name, url, Number(seconds))));
  else console.log(JSON.stringify(await throughput(process.argv.includes('--quick')), null, 2));
}
