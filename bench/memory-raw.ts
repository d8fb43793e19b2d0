// Peak memory of one hour of linear16, sent by the listen Duplex or by a raw ws send loop doing the same job: both
// fed by pipeline() from a Readable of 100 ms frames, to a server in a child process that discards the audio.
// Each run is a process of its own, so that its peak RSS is its own; prints its figures as JSON.
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import WebSocket from 'ws';
import { createListenStream } from '../lib/index.js';
import { childServer, peakRssMb, RATE, round, speech } from './support.js';

const [kind, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 3600);
const server = await childServer(process.env.SERVER === 'local' ? 'local' : 'discard');
const url = `${server.url}/v1/listen?encoding=linear16&sample_rate=${RATE}`;
const cpu = process.cpuUsage();
const started = performance.now();

if (kind === 'raw') {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('message', (data) => JSON.parse(data.toString()));
  const closed = once(ws, 'close');
  await once(ws, 'open');
  // The loop a careful user writes: send each frame, and take the next once it is written.
  await pipeline(
    speech(seconds),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        ws.send(chunk, done);
      },
      final(done) {
        ws.send('{"type":"CloseStream"}', done);
      },
    }),
  );
  await closed;
} else {
  const sink = new Writable({ objectMode: true, write: (_m, _e, done) => done() });
  await pipeline(
    speech(seconds),
    createListenStream({ url: server.url, query: { encoding: 'linear16', sample_rate: RATE } }),
    sink,
  );
}
const used = process.cpuUsage(cpu);
await server.close();
process.stdout.write(
  JSON.stringify({
    kind,
    audioSeconds: seconds,
    wallSeconds: round((performance.now() - started) / 1000, 2),
    cpuSecondsPerAudioHour: round(((used.user + used.system) / 1e6) * (3600 / seconds), 3),
    peakRssMb: peakRssMb(),
  }),
);
