// Shared by the tests: servers that stop with the test, audio made to measure, and stream collectors.
import type { Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { PassThrough, Readable, Writable } from 'node:stream';
import { WebSocketServer, type ServerOptions as SocketServerOptions, type WebSocket } from 'ws';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { startServer, type LocalServer, type ServerOptions } from '../lib/server/index.js';
import { ffmpegCommand } from '../lib/audio/ffmpeg.js';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { ServerMessage, ResultsMessage } from '../lib/protocol/messages.js';

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export async function serve(t: Test, options: ServerOptions = {}): Promise<LocalServer> {
  const server = await startServer({ realtimeFactor: false, ...options });
  t.teardown(() => server.close());
  return server;
}

/**
 * The built server (test/build.ts builds it before the suite), for servers with worker processes: they start in plain
 * Node in 0.15 s, where under this test's TypeScript loader each took 1.3 s.
 */
export async function serveBuilt(t: Test, options: ServerOptions = {}): Promise<LocalServer> {
  const built: typeof import('../lib/server/index.js') = await import(
    new URL('../dist/server/index.js', import.meta.url).href
  );
  const server = await built.startServer({ realtimeFactor: false, workerExecArgv: [], ...options });
  t.teardown(() => server.close());
  return server;
}

export const RATE = 16000;

/**
 * linear16 mono at 16 kHz: `pattern` alternates tone and silence in seconds, starting with tone
 * (`[1, 0.5, 1]` is 1 s of tone, 0.5 s of silence, 1 s of tone).
 */
export function tones(pattern: number[], amplitude = 8000): Buffer {
  const total = Math.round(pattern.reduce((a, b) => a + b, 0) * RATE);
  const pcm = Buffer.alloc(total * 2);
  let at = 0;
  pattern.forEach((seconds, i) => {
    const n = Math.round(seconds * RATE);
    if (i % 2 === 0) {
      for (let k = 0; k < n; k++)
        pcm.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * 220 * k) / RATE)), (at + k) * 2);
    }
    at += n;
  });
  return pcm;
}

export function chunk(buffer: Buffer, size = 3200): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) chunks.push(buffer.subarray(i, i + size));
  return chunks;
}

export const LINEAR16 = { encoding: 'linear16', sample_rate: RATE } as const;

export function collector<T = ServerMessage>(): Writable & { messages: T[] } {
  const messages: T[] = [];
  return Object.assign(
    new Writable({
      objectMode: true,
      write(message: T, _encoding, callback) {
        messages.push(message);
        callback();
      },
    }),
    { messages },
  );
}

export async function readAll(stream: Readable): Promise<ServerMessage[]> {
  const messages: ServerMessage[] = [];
  for await (const message of stream) messages.push(message);
  return messages;
}

/** A well-formed /v1 Results message with these alternatives, and any field replaced by `fields`. */
export const resultsWith = (alternatives: unknown[], fields: Record<string, unknown> = {}) => ({
  type: 'Results',
  channel_index: [0, 1],
  start: 0,
  duration: 1,
  is_final: true,
  speech_final: false,
  channel: { alternatives },
  ...fields,
});

export const finals = (messages: ServerMessage[]): ResultsMessage[] =>
  messages.filter((m): m is ResultsMessage => m.type === 'Results' && (m as ResultsMessage).is_final);

export const words = (messages: ServerMessage[]): string[] =>
  finals(messages).flatMap((m) => m.channel.alternatives[0].words.map((w) => w.word));

export function sha256(...buffers: Buffer[]): string {
  return createHash('sha256').update(Buffer.concat(buffers)).digest('hex');
}

/** The processes `parent` (by default this test process) has running now whose command line matches. */
export function children(match: RegExp, parent = process.pid): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent)])
      .toString()
      .split('\n')
      .filter((line) => match.test(line))
      .map((line) => Number.parseInt(line, 10));
  } catch {
    return []; // ps exits 1 when there are no children at all
  }
}

/** FFmpeg processes this test process has running now. */
export const ffmpegChildren = (): number => children(/ffmpeg/).length;

/** The built command line (test/build.ts builds it before the suite): a child starts in plain Node. */
const CLI = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));

/**
 * The command line as a real process, so that exit codes, signals and a closed stdout are the real thing. A child
 * that does not exit within `timeout` is killed, and its `status` is then null: a hang ends the test with a failure.
 */
export function cli(
  args: string[],
  options: { input?: Buffer; openStdin?: boolean; env?: NodeJS.ProcessEnv; timeout?: number } = {},
) {
  const child = spawn(process.execPath, ['--enable-source-maps', CLI, ...args], {
    env: { ...process.env, DEEPGRAM_API_KEY: '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  child.stdin.on('error', () => {});
  if (!options.openStdin) child.stdin.end(options.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 30_000);
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
  return { child, done, output: () => stdout };
}

/** A seeded generator of numbers in [0, 1) (mulberry32), so that random inputs are the same every run. */
export function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stand-in WebSocket server on a free loopback port, closed when `t` ends, calling `connection` for each client. */
export async function wsServer(
  t: Test,
  connection: (ws: WebSocket) => void,
  options: SocketServerOptions = {},
): Promise<string> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  t.teardown(() => wss.close());
  wss.on('connection', connection);
  await once(wss, 'listening');
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

/** File descriptors this process holds whose target (a path, or `socket:[...]`) passes `match`: Linux names them. */
export function descriptors(match: (target: string) => boolean): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return match(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

/**
 * Holds this thread for `ms`, as a long callback does, without using the CPU (which would slow the tests beside it):
 * nothing is read or run until it ends.
 */
export function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A stand-in server in a child process, so that it goes on while this one is stalled: it answers pings (as `ws`
 * does), and to a text frame that says CloseStream sends a final for the first half second and closes with 1000
 * `closeAfter` ms later; it says nothing else. Its URL.
 */
export async function childWsServer(t: Test, closeAfter = 0): Promise<string> {
  const final = JSON.stringify(resultsWith([{ transcript: '', confidence: 1, words: [] }], { duration: 0.5 }));
  const script = `
    const { WebSocketServer } = require('ws');
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => console.log(wss.address().port));
    wss.on('connection', (ws) => ws.on('message', (data, binary) => {
      if (binary || !String(data).includes('CloseStream')) return;
      ws.send(${JSON.stringify(final)});
      setTimeout(() => ws.close(1000), ${closeAfter});
    }));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  const [port] = (await once(child.stdout, 'data')) as [Buffer];
  return `ws://127.0.0.1:${port.toString().trim()}`;
}

/**
 * A flood of 300 sockets to `port` that say nothing, more than a server bounded by `held` sockets takes: resolves once
 * those past the bound have been closed, with how many were, after destroying them all.
 */
export async function silentFlood(port: number, held: number): Promise<number> {
  const sockets = Array.from({ length: 300 }, () => connect(port, '127.0.0.1').on('error', () => {}));
  let closed = 0;
  for (const socket of sockets) socket.once('close', () => closed++);
  try {
    await until(() => closed >= sockets.length - held, 'the sockets past the bound closed as they came');
    return closed;
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

/**
 * Pings from `ws` that never reads the pongs, a thousand a turn of the loop, until the other side cuts it off (once
 * the kernel's buffers are full, the pongs wait unsent): its close code, and how many pings that took.
 */
export async function pingFlood(ws: WebSocket): Promise<{ code: number; pings: number }> {
  ws.pause();
  let code = 0; // no close has this code
  ws.once('close', (closed: number) => (code = closed));
  let pings = 0;
  const payload = Buffer.alloc(125);
  await until(() => {
    for (let i = 0; i < 1000 && ws.readyState === ws.OPEN; i++, pings++) ws.ping(payload);
    return code !== 0;
  }, 'cut off');
  return { code, pings };
}

/** A stand-in server that sends each of `frames` as text to every client, then closes with `code`; its URL. */
export function scriptedServer(t: Test, frames: string[], code = 1000): Promise<string> {
  return wsServer(t, (ws) => {
    for (const frame of frames) ws.send(frame);
    ws.close(code);
  });
}

/** The CLI run in this process, with its output captured. */
export async function runMain(
  args: string[],
  options: {
    stdin?: Buffer;
    stop?: Promise<void>;
    tty?: boolean;
    stdoutTty?: boolean;
    /** Told of what was written so far, each time more is. */
    watch?: (out: string, err: string) => void;
  } = {},
) {
  const { main } = await import('../lib/cli/index.js');
  const stdout = Object.assign(new PassThrough(), { isTTY: options.stdoutTty ?? false });
  const stderr = Object.assign(new PassThrough(), { isTTY: options.tty ?? false, columns: 100 });
  let out = '';
  let err = '';
  stdout.on('data', (c) => ((out += c), options.watch?.(out, err)));
  stderr.on('data', (c) => ((err += c), options.watch?.(out, err)));
  const io = { stdin: Readable.from([options.stdin ?? Buffer.alloc(0)]), stdout, stderr, stop: options.stop };
  const code = await main(args, io);
  return { code, out, err };
}

/**
 * Where in `values` (deeply: strings, arrays, objects, errors with their message, stack and fields) `secret`
 * appears, as paths; empty when nowhere.
 */
export function leaks(secret: string, values: unknown[]): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, path: string) => {
    if (typeof value === 'string') {
      if (value.includes(secret)) found.push(path);
    } else if (value !== null && typeof value === 'object' && !seen.has(value)) {
      seen.add(value);
      if (value instanceof Error) visit(`${value.message}\n${value.stack}`, `${path}.message`);
      if (Buffer.isBuffer(value)) visit(value.toString('latin1'), path);
      else for (const [key, field] of Object.entries(value)) visit(field, `${path}.${key}`);
    }
  };
  values.forEach((value, i) => visit(value, `[${i}]`));
  return found;
}

/** Opens a raw upgrade and returns the HTTP response the server gave, whatever its status. */
export function upgrade(url: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(`${url.replace('ws:', 'http:')}${path}`, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const FFMPEG = ffmpegCommand();
const longFixtures = new Map<string, string>();

/**
 * The speech fixture looped to 92.6 s and encoded as `format` (ogg, webm, mp3, flac, or another FFmpeg encoding
 * given as its arguments), made once per test process in a temporary folder.
 */
export function longFixture(format: string, codec: string[] = []): string {
  const key = `${format}:${codec.join(' ')}`;
  const made = longFixtures.get(key);
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'dgs-long-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, `speech-long.${format}`);
  const codecs: Record<string, string[]> = {
    ogg: ['-c:a', 'libopus', '-b:a', '24k'],
    webm: ['-c:a', 'libopus', '-b:a', '24k', '-f', 'webm'],
    mp3: ['-c:a', 'libmp3lame', '-b:a', '32k'],
    flac: ['-c:a', 'flac'],
  };
  const args = ['-loglevel', 'error', '-stream_loop', '11', '-i', fixture('speech.wav')];
  execFileSync(FFMPEG, [...args, ...(codec.length > 0 ? codec : codecs[format]), out]);
  longFixtures.set(key, out);
  return out;
}

/** Audio decoded by FFmpeg to 16 kHz mono samples. */
export function decodeToSamples(bytes: Buffer): Int16Array {
  const args = ['-loglevel', 'error', '-i', 'pipe:0', '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'];
  const out = execFileSync(FFMPEG, args, { input: bytes, maxBuffer: 1 << 28 });
  return new Int16Array(out.buffer, out.byteOffset, out.length / 2);
}

/** Waits until `condition()` holds, checking every 10 ms; fails with `what` after `ms` (default 10 s). */
export async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `deepgram-stream relay` as a real process, once it says where its page is. */
export async function startRelay(t: Test, args: string[]) {
  const relay = cli(['relay', '--port', '0', ...args], { openStdin: true, timeout: 60_000 });
  t.teardown(() => relay.child.kill('SIGTERM'));
  while (!/relay on (http:\S+)/.test(relay.output())) {
    if (relay.child.exitCode !== null) throw new Error(`the relay exited: ${(await relay.done).stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { ...relay, page: relay.output().match(/relay on (http:\S+)/)![1] };
}

/**
 * A 16-bit mono WAV whose header claims `sampleRate` (1 Hz makes 100,000 samples last 27 hours), holding a square
 * wave of `dataBytes` bytes.
 */
export function wavClaiming(sampleRate: number, dataBytes = 200_000): Buffer {
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'latin1');
  wav.writeUInt32LE(wav.length - 8, 4);
  wav.write('WAVEfmt ', 8, 'latin1');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'latin1');
  wav.writeUInt32LE(dataBytes, 40);
  for (let i = 44; i < wav.length; i += 2) wav.writeInt16LE(i % 4 === 0 ? 8000 : -8000, i);
  return wav;
}

/** Sets (or, with undefined, removes) environment variables for the rest of the test `t`. */
export function withEnv(t: Test, env: Record<string, string | undefined>): void {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(env);
  t.teardown(() => apply(saved));
}

/**
 * How many hidden classes (V8 maps) `objects` have among them. Natives syntax is read when a function is compiled,
 * so a function made after the flag is set may use it.
 */
export function hiddenClasses(objects: object[]): number {
  setFlagsFromString('--allow-natives-syntax');
  const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  const kinds: object[] = [];
  for (const object of objects) if (!kinds.some((kind) => sameMap(kind, object))) kinds.push(object);
  return kinds.length;
}
