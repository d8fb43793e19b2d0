// `deepgram-stream transcribe`: one input to standard output, or many into a folder through transcribeMany().
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { startServer, type LocalServer } from '../server/index.js';
import { isRawEncoding, QUERY_PARAMS, toSearchParams, type ListenQuery } from '../protocol/options.js';
import { checkFluxQuery, FLUX_PARAMS } from '../protocol/flux.js';
import { protocolOf } from '../listen/session.js';
import { endpoint } from '../listen/connection.js';
import { LISTEN_FLUX } from '../listen/protocol.js';
import { FORMATS, type Format } from '../batch/outputs.js';
import { transcribeMany, transcribeOne, type BatchOptions } from '../batch/many.js';
import { integer, oneOf, parse, positive, text, UsageError, type Command, type Options } from './args.js';
import { stopRequested, stoppedStatus, type CliIo } from './io.js';
import { progressView } from './progress.js';

/** Headerless audio is described by these three flags; everything else in the query is Deepgram's as it is. */
const RAW_FLAGS = ['encoding', 'sample_rate', 'channels'];

/** Every /v1/listen and Flux parameter is a flag of its own name. */
const PARAMS: Record<string, 'flag' | 'value' | 'repeatable'> = { ...QUERY_PARAMS, ...FLUX_PARAMS };
export const QUERY_OPTIONS: Options = Object.fromEntries(
  Object.entries(PARAMS).map(([name, kind]) => [
    name,
    kind === 'flag' ? { type: 'boolean' } : { type: 'string', multiple: kind === 'repeatable' },
  ]),
);
/** Flux's own parameters: numbers, and a /v1 session would not know them. */
const FLUX_ONLY = ['eot_threshold', 'eager_eot_threshold', 'eot_timeout_ms', 'language_hint'];

/** The flags of a transcription, shared by `transcribe` and `worker`. */
export const LISTEN_OPTIONS: Options = {
  format: { type: 'string' },
  local: { type: 'boolean' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  'allow-insecure': { type: 'boolean' },
  decode: { type: 'string' },
  pace: { type: 'string' },
  concurrency: { type: 'string' },
  retries: { type: 'string' },
  param: { type: 'string', multiple: true },
  ...QUERY_OPTIONS,
};

export const TRANSCRIBE: Command = {
  positionals: true,
  options: { ...LISTEN_OPTIONS, out: { type: 'string' } },
  usage: `deepgram-stream transcribe <file...|url...|-> [options]

  --format text|ndjson|json|srt|vtt   what to write (default text)
  --out DIR                           write a file per input under DIR (needed for several inputs)
  --concurrency N, --retries N        with --out: inputs at once (10), tries after a failure (3)
  --url URL, --api-key KEY            Deepgram (or another server); the key defaults to DEEPGRAM_API_KEY
  --local                             the embedded local server (the default with no key and no --url)
  --allow-insecure                    allow ws:// to a host other than this machine
  --decode auto|always, --pace X      decode everything to linear16; release audio at X times real time
  --encoding E --sample_rate N [--channels N]   headerless PCM (linear16, linear32, mulaw, alaw), sent as it is
  --model nova-3 --interim_results --keyterm a --keyterm b ...   every /v1/listen parameter, by its own name
  --model flux-general-en --eot_threshold 0.8 ...   Flux on /v2/listen, with its parameters by their own names
  --param name=value                  a parameter this version does not know, passed as it is (repeatable)`,
};

/** The transcription the flags ask for, checked before anything starts. */
export function transcriptionFlags(
  values: Record<string, unknown>,
  defaultFormat: Format,
): BatchOptions & { local: boolean } {
  const query: Record<string, unknown> = {};
  for (const name of Object.keys(PARAMS))
    if (!RAW_FLAGS.includes(name) && values[name] !== undefined) query[name] = values[name];
  Object.assign(query, passedThrough(values.param));
  const flux = protocolOf(query) === LISTEN_FLUX;
  for (const name of FLUX_ONLY.filter((n) => values[n] !== undefined)) {
    if (!flux)
      throw new UsageError(`--${name} is a Flux parameter: give --model flux-general-en (or flux-general-multi)`);
    if (name !== 'language_hint') query[name] = Number(values[name]);
  }
  // Checked here, before anything starts: a /v1 flag on a Flux run is a usage error too.
  const fluxProblem = flux
    ? checkFluxQuery(toSearchParams({ ...query, encoding: values.encoding, sample_rate: values.sample_rate }))
    : undefined;
  if (fluxProblem) throw new UsageError(fluxProblem);
  const encoding = text(values, 'encoding');
  let raw: BatchOptions['raw'];
  if (encoding !== undefined) {
    if (!isRawEncoding(encoding))
      throw new UsageError(
        `--encoding takes linear16, linear32, mulaw or alaw for headerless audio, not "${encoding}"; leave it out ` +
          `for containers`,
      );
    const sampleRate = integer(values, 'sample_rate');
    if (sampleRate === undefined) throw new UsageError("--encoding needs --sample_rate, the audio's rate in Hz");
    raw = { encoding, sample_rate: sampleRate, channels: integer(values, 'channels') };
  } else if (values.sample_rate !== undefined || values.channels !== undefined) {
    throw new UsageError(
      '--sample_rate and --channels describe headerless audio: give --encoding too (containers carry their own)',
    );
  }
  return {
    query: query as ListenQuery,
    raw,
    ...connectionFlags(values, protocolOf(query).path),
    format: oneOf(values, 'format', Object.keys(FORMATS) as Format[]) ?? defaultFormat,
    decode: oneOf(values, 'decode', ['auto', 'always'] as const),
    pace: positive(values, 'pace'),
    concurrency: integer(values, 'concurrency'),
    retries: integer(values, 'retries', 0),
  };
}

/** `--param name=value` flags as query entries (a name given twice is sent twice); a malformed one is a usage error. */
function passedThrough(flags: unknown): Record<string, string | string[]> {
  const query: Record<string, string[]> = {};
  for (const flag of Array.isArray(flags) ? flags.map(String) : []) {
    const match = /^([A-Za-z][\w.]*)=(.*)$/s.exec(flag);
    if (!match) throw new UsageError(`--param takes name=value (a Deepgram parameter and its value), not "${flag}"`);
    (query[match[1]] ??= []).push(match[2]);
  }
  return Object.fromEntries(Object.entries(query).map(([name, v]) => [name, v.length === 1 ? v[0] : v]));
}

/**
 * Where to connect: --url and the key (or DEEPGRAM_API_KEY) checked together, once, before any input is read (not a
 * failure per file); `local` with --local, or with no key and no --url.
 */
export function connectionFlags(values: Record<string, unknown>, path: string) {
  const apiKey = text(values, 'api-key') ?? process.env.DEEPGRAM_API_KEY;
  const url = text(values, 'url');
  const allowInsecure = values['allow-insecure'] === true;
  if (url !== undefined) {
    try {
      endpoint({ url, apiKey, allowInsecure }, path, new URLSearchParams());
    } catch (error) {
      throw new UsageError(`--url: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { apiKey, url, allowInsecure, local: values.local === true || (!apiKey && !url) };
}

/** The embedded local server, said out loud, for a run with no key and no URL. */
export async function localServer(
  io: CliIo,
  script?: string,
  notice = 'its words are synthetic, not recognized speech',
): Promise<LocalServer> {
  io.stderr.write(`deepgram-stream: no Deepgram key, so using the embedded local server: ${notice}\n`);
  return startServer({ realtimeFactor: false, script });
}

function sidecarScript(file: string): string | undefined {
  for (const candidate of [`${file}.txt`, `${file.slice(0, -extname(file).length)}.txt`]) {
    if (candidate !== file && existsSync(candidate)) return readFileSync(candidate, 'utf8');
  }
  return undefined;
}

export async function transcribe(args: string[], io: CliIo): Promise<number> {
  const { values, positionals, help } = parse(TRANSCRIBE, args);
  if (help) return (io.stdout.write(`Usage: ${TRANSCRIBE.usage}\n`), 0);
  if (positionals.length === 0) throw new UsageError('name at least one file, or - for standard input');
  const outDir = text(values, 'out');
  if (positionals.length > 1 && !outDir) throw new UsageError('several files need --out DIR for their outputs');
  if (outDir && positionals.includes('-'))
    throw new UsageError('- (standard input) goes to standard output: leave out --out');
  const { local, ...options } = transcriptionFlags(values, 'text');
  // One file may bring its script beside it (FILE.txt); with several, the words come from the audio itself.
  const server = local
    ? await localServer(
        io,
        positionals.length === 1 && positionals[0] !== '-' ? sidecarScript(positionals[0]) : undefined,
      )
    : undefined;
  try {
    const run = { ...options, url: server?.url ?? options.url };
    return outDir ? await toFolder(positionals, { ...run, outDir }, io) : await toStdout(positionals[0], run, io);
  } finally {
    await server?.close();
  }
}

async function toFolder(inputs: string[], options: BatchOptions, io: CliIo): Promise<number> {
  const view = io.stderr.isTTY ? progressView(io.stderr, inputs.length) : undefined;
  const started = performance.now();
  const counts = { done: 0, skipped: 0, failed: 0 };
  let audioSeconds = 0;
  for await (const result of transcribeMany(inputs, { ...options, onProgress: view?.update })) {
    counts[result.status]++;
    audioSeconds += result.audioSeconds ?? 0;
    const line = result.error ? `deepgram-stream: ${result.input}: ${result.error.message}\n` : undefined;
    if (view) view.finish(result, line);
    else if (line) io.stderr.write(line);
  }
  view?.close();
  const wall = (performance.now() - started) / 1000;
  io.stderr.write(
    `deepgram-stream: ${inputs.length} file${inputs.length === 1 ? '' : 's'} ` +
      `(${counts.done} done, ${counts.skipped} skipped, ${counts.failed} failed), ` +
      `${(audioSeconds / 3600).toFixed(3)} audio hours in ${wall.toFixed(1)} s, ` +
      `${(audioSeconds / wall).toFixed(1)}x real time\n`,
  );
  return counts.failed > 0 ? 1 : 0;
}

/**
 * One input (or standard input) to standard output: no retries, as output may have begun. A reader that goes
 * away (`| head -1`) ends the command quietly, with success. On a terminal, text is live: interim results rewrite
 * one line, finals print as lines. The first Ctrl-C (or SIGTERM) ends standard input gracefully (CloseStream, the
 * last finals printed, exit 0) and stops a file at once (exit 130, or 143 for SIGTERM); a second one stops at once.
 */
async function toStdout(input: string, options: BatchOptions, io: CliIo): Promise<number> {
  const gone = new AbortController();
  const interrupted = new AbortController();
  const onError = (error: NodeJS.ErrnoException) => error.code === 'EPIPE' && gone.abort();
  io.stdout.on('error', onError);
  const out = new Writable({
    write(chunk, _encoding, done) {
      if (io.stdout.write(chunk)) done();
      else io.stdout.once('drain', done);
    },
  });
  const stop = stopRequested(io);
  let source: string | PassThrough = input;
  const paced = new AbortController();
  if (input === '-') {
    const live = (source = new PassThrough());
    io.stdin.pipe(live);
    stop.stopped.then(() => {
      io.stdin.unpipe(live);
      io.stdin.destroy(); // no more is read: a stdin left open would keep the process alive
      paced.abort(); // what --pace still holds is dropped: the end comes now, after what was sent
      live.end();
    });
  } else stop.stopped.then(() => interrupted.abort());
  const terminal = io.stdout.isTTY === true && options.format === 'text';
  const run = terminal
    ? {
        ...options,
        format: 'live' as const,
        // Flux's turn so far comes anyway; /v1 sends interim results only when asked.
        query: protocolOf(options.query) === LISTEN_FLUX ? options.query : { ...options.query, interim_results: true },
      }
    : options;
  try {
    const signal = AbortSignal.any([gone.signal, interrupted.signal]);
    await transcribeOne(source, out, { ...run, signal, paceStop: paced.signal });
    return 0;
  } catch (error) {
    if (gone.signal.aborted) return 0;
    if (interrupted.signal.aborted) return stoppedStatus(await stop.stopped); // settled: it is what aborted
    io.stderr.write(`deepgram-stream: ${input}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    stop.dispose();
    io.stdout.off('error', onError);
  }
}
