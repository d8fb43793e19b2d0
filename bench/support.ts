// Shared by the benchmarks: speech-like audio made on the fly, servers in a child process, small statistics.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { percentile } from '../lib/live/latency.js';

export const RATE = 16000;
export const BYTES_PER_SECOND = RATE * 2;
const CHUNK = BYTES_PER_SECOND / 10; // 100 ms frames, as Deepgram advises

/** Ten seconds of linear16: tones of several loudnesses between pauses, so the server finds words. */
const PATTERN: Buffer[] = (() => {
  const frames: Buffer[] = [];
  for (let i = 0; i < 100; i++) {
    const frame = Buffer.alloc(CHUNK);
    if (i % 10 < 6) {
      const amplitude = 3000 + (i % 7) * 1000;
      for (let k = 0; k < CHUNK / 2; k++)
        frame.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * 180 * k) / RATE)), k * 2);
    }
    frames.push(frame);
  }
  return frames;
})();

/** `seconds` of speech-like audio in 100 ms chunks, produced as read (10 hours take no memory). */
export function speech(seconds: number): Readable {
  const total = Math.round(seconds * 10);
  let sent = 0;
  return new Readable({
    read() {
      for (let n = 0; n < 16 && sent < total; n++) {
        if (!this.push(PATTERN[sent++ % PATTERN.length])) return;
      }
      if (sent >= total) this.push(null);
    },
  });
}

/**
 * This process's peak RSS in MB. Linux keeps `ru_maxrss` across exec, so a child spawned by a large parent reports
 * the parent's size; the kernel's high-water mark of this process's own memory (VmHWM) does not carry over.
 */
export function peakRssMb(): number {
  const status = existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '';
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return round(Number(kb ?? process.resourceUsage().maxRSS) / 1024, 1);
}

export function speechChunks(seconds: number): Buffer[] {
  return Array.from({ length: Math.round(seconds * 10) }, (_, i) => PATTERN[i % PATTERN.length]);
}

/** A WAV header for `seconds` of that audio. */
export function wavHeaderFor(seconds: number): Buffer {
  const dataBytes = Math.round(seconds * 10) * CHUNK;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(BYTES_PER_SECOND, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/** A WAV file of the same audio, for the stages that read containers. */
export function speechWav(seconds: number): Buffer {
  return Buffer.concat([wavHeaderFor(seconds), ...speechChunks(seconds)]);
}

/** The same WAV produced as read, so that an hour of it takes no memory in the bench's process. */
export function speechWavStream(seconds: number): Readable {
  return Readable.from(
    (function* () {
      yield wavHeaderFor(seconds);
      for (let i = 0; i < Math.round(seconds * 10); i++) yield PATTERN[i % PATTERN.length];
    })(),
  );
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  close(): Promise<void>;
}

/** Starts `bench/server-process` in its own process, so that its work is not counted as the client's. */
export async function childServer(
  kind: 'local' | 'echo' | 'discard',
  options: Record<string, unknown> = {},
): Promise<ChildServer> {
  const child = fork(fileURLToPath(new URL('./server-process.js', import.meta.url)), [kind, JSON.stringify(options)]);
  const [url] = (await once(child, 'message')) as [string];
  return {
    url,
    child,
    close: async () => {
      child.kill();
      await once(child, 'exit');
    },
  };
}

export { percentile };

export const median = (values: number[]) => percentile(values, 50);

/** Client CPU milliseconds (user + system) spent in `work`, and its wall time. */
export async function measure<T>(work: () => Promise<T>): Promise<{ wallMs: number; cpuMs: number; result: T }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, result };
}

/** Milliseconds since the epoch with sub-millisecond precision, comparable between processes on one machine. */
export const clock = () => performance.timeOrigin + performance.now();

export const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;

/**
 * Runs a benchmark script in a process of its own (its CPU and peak RSS its own), with Node's `flags`, and parses what
 * it prints.
 */
export async function inProcess<T>(script: string, args: (string | number)[], flags: string[] = []): Promise<T> {
  const argv = [...flags, script, ...args.map(String)];
  const run = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  run.stdout.on('data', (c) => (out += c));
  await once(run, 'exit');
  return JSON.parse(out);
}
