#!/usr/bin/env node
// deepgram-stream: transcribe files (many at once), run the local server, or feed and drain a Redis queue.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { extname } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { startServer, type LocalServer } from './server/index.js';
import { QUERY_PARAMS, type ListenQuery } from './protocol/options.js';
import { FORMATS, type Format } from './batch/outputs.js';
import { transcribeMany, transcribeOne, type BatchOptions, type FileResult, type Progress } from './batch/many.js';

const USAGE = `Usage:
  deepgram-stream transcribe <file...|url...|-> [--format text|ndjson|json|srt|vtt] [--out DIR]
                  [--concurrency N] [--retries N] [--local | --url URL] [--api-key KEY]
                  [--decode auto|always] [--pace X] [--model nova-3] [--interim_results] [--keyterm TERM]...
                  (every /v1/listen parameter is a flag of its own name)
  deepgram-stream serve [--port N] [--host H] [--api-key KEY] [--script FILE]
                  [--realtime-factor X|off] [--inactivity-timeout MS]
  deepgram-stream enqueue <file...|url...> [--redis URL] [--queue NAME] [--attempts N] [--limit N]
  deepgram-stream worker --out DIR [--redis URL] [--queue NAME] [--concurrency N] [transcribe's options]

With no key (DEEPGRAM_API_KEY or --api-key) and no --url, transcribe runs against an embedded local
server, whose words are synthetic.`;

class UsageError extends Error {}

/** Where the CLI reads and writes, and what stops `serve` and `worker`: the process's own unless a caller says otherwise. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Stops `serve` and `worker`; by default SIGINT or SIGTERM. */
  stop?: Promise<void>;
}

const TRANSCRIBE_OPTIONS: ParseArgsConfig['options'] = {
  format: { type: 'string', default: 'text' }, out: { type: 'string' }, local: { type: 'boolean' },
  url: { type: 'string' }, 'api-key': { type: 'string' }, decode: { type: 'string', default: 'auto' },
  pace: { type: 'string' }, concurrency: { type: 'string' }, retries: { type: 'string' },
  ...Object.fromEntries(Object.entries(QUERY_PARAMS).map(([name, kind]) =>
    [name, kind === 'flag' ? { type: 'boolean' } : { type: 'string', multiple: kind === 'repeatable' }])),
};
const QUEUE_OPTIONS: ParseArgsConfig['options'] = { redis: { type: 'string' }, queue: { type: 'string' } };

function number(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} takes a number, not "${value}"`);
  return n;
}

function sidecarScript(file: string): string | undefined {
  for (const candidate of [`${file}.txt`, `${file.slice(0, -extname(file).length)}.txt`]) {
    if (candidate !== file && existsSync(candidate)) return readFileSync(candidate, 'utf8');
  }
  return undefined;
}

/** The batch options the flags say, and the embedded local server when there is no key and no URL. */
async function batchOptions(values: Record<string, unknown>, io: CliIo, files: string[]): Promise<{ options: BatchOptions; server?: LocalServer }> {
  const format = values.format as Format;
  if (!(format in FORMATS)) throw new UsageError(`--format must be one of ${Object.keys(FORMATS).join(', ')}`);
  const query: Record<string, unknown> = {};
  for (const name of Object.keys(QUERY_PARAMS)) if (values[name] !== undefined) query[name] = values[name];
  const apiKey = (values['api-key'] as string | undefined) ?? process.env.DEEPGRAM_API_KEY;
  let server: LocalServer | undefined;
  if (values.local || (!apiKey && !values.url)) {
    io.stderr.write('deepgram-stream: no Deepgram key, so using the embedded local server: its words are synthetic, not recognized speech\n');
    // One file may bring its script beside it (FILE.txt); with several, the words come from the audio itself.
    server = await startServer({ realtimeFactor: false, script: files.length === 1 && files[0] !== '-' ? sidecarScript(files[0]) : undefined });
  }
  return {
    server,
    options: {
      query: query as ListenQuery, apiKey, url: server?.url ?? (values.url as string | undefined), format,
      decode: values.decode === 'always' ? 'always' : 'auto',
      pace: number(values.pace, 'pace'),
      concurrency: number(values.concurrency, 'concurrency'),
      retries: number(values.retries, 'retries'),
      outDir: values.out as string | undefined,
    },
  };
}

/** Progress bars on a terminal: a line per file in flight, redrawn at most ten times a second. */
function progressView(stderr: CliIo['stderr']) {
  const active = new Map<string, Progress>();
  let drawn = 0;
  let last = 0;
  const draw = (force = false) => {
    const now = performance.now();
    if (!force && now - last < 100) return;
    last = now;
    const width = Math.max(10, Math.min(30, (stderr.columns ?? 80) - 50));
    const lines = [...active.values()].map((p) => {
      const share = p.bytesTotal ? Math.min(1, p.bytesRead / p.bytesTotal) : 0;
      const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '-');
      return `${p.input.slice(-30).padEnd(30)} [${bar}] ${String(Math.round(share * 100)).padStart(3)}% ${p.transcribedSeconds.toFixed(1)} s`;
    });
    stderr.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[J`);
    drawn = lines.length;
  };
  return {
    update(p: Progress) {
      active.set(p.input, p);
      draw();
    },
    /** Takes a finished file off the board, and prints a line that stays. */
    finish(result: FileResult, line?: string) {
      active.delete(result.input);
      if (drawn > 0) stderr.write(`\x1b[${drawn}A\x1b[J`);
      drawn = 0;
      if (line) stderr.write(line);
      draw(true);
    },
  };
}

async function transcribe(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs({ args, allowPositionals: true, options: TRANSCRIBE_OPTIONS });
  const values = parsed.values as Record<string, unknown>;
  const positionals = parsed.positionals;
  if (positionals.length === 0) throw new UsageError('name at least one file, or - for standard input');
  if (positionals.length > 1 && !values.out) throw new UsageError('several files need --out DIR for their outputs');
  const { options, server } = await batchOptions(values, io, positionals);
  try {
    if (!options.outDir) return await toStdout(positionals[0], options, io);
    const view = io.stderr.isTTY ? progressView(io.stderr) : undefined;
    const started = performance.now();
    const counts = { done: 0, skipped: 0, failed: 0 };
    let audioSeconds = 0;
    for await (const result of transcribeMany(positionals, { ...options, onProgress: view?.update })) {
      counts[result.status]++;
      audioSeconds += result.audioSeconds ?? 0;
      const line = result.error ? `deepgram-stream: ${result.input}: ${result.error.message}\n` : undefined;
      if (view) view.finish(result, line);
      else if (line) io.stderr.write(line);
    }
    const wall = (performance.now() - started) / 1000;
    io.stderr.write(`deepgram-stream: ${positionals.length} files (${counts.done} done, ${counts.skipped} skipped, ${counts.failed} failed), ` +
      `${(audioSeconds / 3600).toFixed(3)} audio hours in ${wall.toFixed(1)} s, ${(audioSeconds / wall).toFixed(1)}x real time\n`);
    return counts.failed > 0 ? 1 : 0;
  } finally {
    await server?.close();
  }
}

/** One file (or standard input) to standard output, which is not ended: no retries, as output may have begun. */
async function toStdout(file: string, options: BatchOptions, io: CliIo): Promise<number> {
  const out = new Writable({
    write(chunk, _encoding, done) {
      if (io.stdout.write(chunk)) done();
      else io.stdout.once('drain', done);
    },
  });
  try {
    await transcribeOne(file === '-' ? io.stdin : file, out, options);
    return 0;
  } catch (error) {
    io.stderr.write(`deepgram-stream: ${file}: ${(error as Error).message}\n`);
    return 1;
  }
}

const stopped = (io: CliIo) => io.stop ?? new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});

async function serve(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' }, 'api-key': { type: 'string' },
      script: { type: 'string' }, 'realtime-factor': { type: 'string', default: '1.25' },
      'inactivity-timeout': { type: 'string', default: '12000' },
    },
  });
  const server = await startServer({
    port: number(values.port, 'port'), host: values.host, apiKey: values['api-key'],
    script: values.script ? readFileSync(values.script, 'utf8') : undefined,
    realtimeFactor: values['realtime-factor'] === 'off' ? false : number(values['realtime-factor'], 'realtime-factor'),
    inactivityTimeout: number(values['inactivity-timeout'], 'inactivity-timeout'),
  });
  io.stdout.write(`deepgram-stream: local /v1/listen server on ${server.url} (its words are synthetic)\n`);
  await stopped(io);
  await server.close();
  return 0;
}

async function enqueueCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs({
    args, allowPositionals: true,
    options: { ...QUEUE_OPTIONS, attempts: { type: 'string' }, backoff: { type: 'string' }, limit: { type: 'string' } },
  });
  const values = parsed.values as Record<string, unknown>;
  const positionals = parsed.positionals;
  if (positionals.length === 0) throw new UsageError('name at least one file or URL to queue');
  const { enqueue } = await import('./batch/queue.js'); // BullMQ is loaded only by the commands that use it
  const queued = await enqueue(positionals, {
    redis: values.redis as string | undefined, queue: values.queue as string | undefined,
    attempts: number(values.attempts, 'attempts'), backoff: number(values.backoff, 'backoff'), limit: number(values.limit, 'limit'),
  });
  await queued.close();
  io.stdout.write(`deepgram-stream: queued ${queued.added} inputs\n`);
  return 0;
}

async function worker(args: string[], io: CliIo): Promise<number> {
  const values = parseArgs({ args, options: { ...TRANSCRIBE_OPTIONS, ...QUEUE_OPTIONS, format: { type: 'string', default: 'json' } } })
    .values as Record<string, unknown>;
  if (!values.out) throw new UsageError('a worker needs --out DIR for its outputs');
  const { options, server } = await batchOptions(values, io, []);
  const { startWorker } = await import('./batch/queue.js');
  const running = startWorker({ ...options, outDir: values.out as string, redis: values.redis as string | undefined, queue: values.queue as string | undefined });
  running.on('completed', (job, result) => io.stdout.write(`${result.skipped ? 'skipped' : 'done'} ${job.data.input} -> ${result.output}\n`));
  running.on('failed', (job, error) => io.stderr.write(`deepgram-stream: ${job?.data.input}: ${error.message}\n`));
  io.stdout.write(`deepgram-stream: worker on queue ${values.queue ?? 'deepgram-stream'}\n`);
  await stopped(io);
  await running.close();
  await server?.close();
  return 0;
}

const PROCESS_IO: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  transcribe, serve, enqueue: enqueueCommand, worker,
};

export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command !== undefined && command in COMMANDS) return await COMMANDS[command](rest, io);
    if (command === undefined || command === '--help' || command === '-h') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.stderr.write(`deepgram-stream: ${(error as Error).message}\n${usage ? `${USAGE}\n` : ''}`);
    return usage ? 2 : 1;
  }
}

// Run only as the command itself (npm links the bin, so compare real paths), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
