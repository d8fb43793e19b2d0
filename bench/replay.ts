// What keeping a copy of the audio for a replay costs: the listen Duplex with and without `reconnect`, against a
// server that discards audio (in its own process), rounds interleaved: client CPU per audio hour and wall time.
// `node build/bench/replay.js [--quick]` runs just this.
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createListenStream } from '../lib/index.js';
import { childServer, measure, median, RATE, round, speech } from './support.js';

const QUERY = { encoding: 'linear16', sample_rate: RATE } as const;

async function run(url: string, seconds: number, reconnect: boolean): Promise<void> {
  const listen = createListenStream({ url, query: QUERY, ...(reconnect ? { reconnect: { attempts: 3 } } : {}) });
  await pipeline(speech(seconds), listen, new Writable({ objectMode: true, write: (_m, _e, done) => done() }));
}

export async function replayCost(quick: boolean) {
  const seconds = quick ? 300 : 1800;
  const rounds = quick ? 3 : 5;
  const server = await childServer('discard');
  const samples = { off: [] as number[], on: [] as number[], offWall: [] as number[], onWall: [] as number[] };
  await run(server.url, 10, true);
  for (let i = 0; i < rounds; i++) {
    for (const reconnect of [false, true]) {
      const { cpuMs, wallMs } = await measure(() => run(server.url, seconds, reconnect));
      samples[reconnect ? 'on' : 'off'].push(cpuMs);
      samples[reconnect ? 'onWall' : 'offWall'].push(wallMs);
    }
  }
  await server.close();
  const perHour = (ms: number[]) => round((median(ms) / 1000) * (3600 / seconds), 3);
  return {
    audioSeconds: seconds,
    rounds,
    cpuSecondsPerAudioHour: { reconnectOff: perHour(samples.off), reconnectOn: perHour(samples.on) },
    cpuOnVsOff: round(median(samples.on) / median(samples.off), 2),
    wallOnVsOff: round(median(samples.onWall) / median(samples.offWall), 2),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await replayCost(process.argv.includes('--quick')), null, 2));
}
