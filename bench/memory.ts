// One memory scenario in a process of its own; prints its figures as JSON.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createListenStream } from '../lib/index.js';
import { childServer, peakRssMb, RATE, round, speech } from './support.js';

const options = JSON.parse(process.argv[2]) as {
  hours?: number;
  seconds?: number;
  realtimeFactor?: number;
  slowConsumer?: boolean;
};
const seconds = options.hours ? options.hours * 3600 : options.seconds!;
const server = await childServer('local', options.realtimeFactor ? { realtimeFactor: options.realtimeFactor } : {});
const mb = () => round(process.memoryUsage().rss / 1048576, 1);
const samples: number[] = [];
const sampler = setInterval(() => samples.push(mb()), 100);
const started = performance.now();
let messages = 0;
const sink = new Writable({
  objectMode: true,
  highWaterMark: 16,
  write(_message, _e, done) {
    messages++;
    // A slow consumer: 10 ms for every message, far slower than the server sends them.
    if (options.slowConsumer) setTimeout(done, 10);
    else done();
  },
});
const query = { encoding: 'linear16', sample_rate: RATE, interim_results: Boolean(options.slowConsumer) } as const;
await pipeline(speech(seconds), createListenStream({ url: server.url, query }), sink);
clearInterval(sampler);
await server.close();
const tenth = Math.max(1, Math.floor(samples.length / 10));
process.stdout.write(
  JSON.stringify({
    audioSeconds: seconds,
    wallSeconds: round((performance.now() - started) / 1000, 1),
    messages,
    peakRssMb: peakRssMb(),
    rssMbAt10Percent: samples[tenth],
    rssMbAt50Percent: samples[Math.floor(samples.length / 2)],
    rssMbAt90Percent: samples[samples.length - tenth],
  }),
);
