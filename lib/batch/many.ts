// transcribeMany: many inputs as one stream of results, with bounded concurrency, retries and resume.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTranscriber, type TranscriberOptions } from '../transcribe.js';
import { backoffDelay, isRetryable } from '../listen/retry.js';
import { DeepgramError } from '../listen/errors.js';
import type { MetadataMessage, ServerMessage } from '../protocol/messages.js';
import type { FluxMessage, FluxMetadataMessage } from '../protocol/flux.js';
import { finalOf } from '../transcripts/turns.js';
import { rawLayout } from '../protocol/options.js';
import { durationOf } from '../audio/duration.js';
import { atomically, formatter, FORMATS, type Format } from './outputs.js';

export interface BatchOptions extends Omit<TranscriberOptions, 'signal'> {
  /**
   * Files transcribed at once. Default 10 (Deepgram allows 50 streams on pay-as-you-go, 100 and more on enterprise).
   */
  concurrency?: number;
  /** Tries after the first, on 429, 5xx, 1011, dropped connections and timeouts. Default 3. */
  retries?: number;
  /** Exponential backoff with full jitter, in ms. Default 500 doubling up to 30000. */
  backoff?: { initial?: number; max?: number };
  /** Write each result to `outDir/<name>.<ext>` (atomically); a later run skips inputs whose output exists. */
  outDir?: string;
  /** Default `json`. */
  format?: Format;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

export interface Progress {
  input: string;
  /** Bytes of the input read so far, and its size when known. */
  bytesRead: number;
  bytesTotal?: number;
  /** Audio seconds covered by final results so far. */
  transcribedSeconds: number;
  /** The input's length in seconds, where its header tells (WAV, FLAC, headerless PCM). */
  audioTotal?: number;
  attempt: number;
}

/** Bytes of an input's head looked at for its length. */
const HEAD_LIMIT = 65536;

export interface FileResult {
  input: string;
  status: 'done' | 'skipped' | 'failed';
  /** The file written, with `outDir`. */
  output?: string;
  /** The transcript, without `outDir`. */
  transcript?: string;
  metadata?: MetadataMessage | FluxMetadataMessage;
  audioSeconds?: number;
  attempts: number;
  error?: Error;
}

const isUrl = (input: string) => /^https?:\/\//.test(input);

/**
 * Where an input's output goes, under the output folder: a path mirrors the input's own path (relative to the
 * working folder, or absolute without its root), so that two `audio.wav` in different folders never share an
 * output, and a re-run finds each file's own; a URL goes by its last path part and a short hash of the URL.
 */
export function outputName(input: string, format: Format): string {
  if (isUrl(input)) {
    const name = basename(new URL(input).pathname) || 'audio';
    return `${name}-${createHash('sha256').update(input).digest('hex').slice(0, 8)}.${FORMATS[format]}`;
  }
  const absolute = resolve(input);
  const local = relative(process.cwd(), absolute);
  const mirrored = local.startsWith('..') || isAbsolute(local) ? absolute.replace(/^([a-zA-Z]:)?[\\/]+/, '') : local;
  return `${mirrored}.${FORMATS[format]}`;
}

async function open(input: string, signal?: AbortSignal): Promise<{ source: Readable; size?: number }> {
  if (isUrl(input)) {
    const response = await fetch(input, { signal }).catch((cause: unknown) => {
      if (signal?.aborted) throw cause;
      const why = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
      throw new DeepgramError('DG_FETCH', `GET ${input} failed: ${why}`, { cause });
    });
    if (!response.ok || !response.body) {
      const { status } = response;
      throw new DeepgramError('DG_FETCH', `GET ${input} answered ${status}`, { status });
    }
    const size = Number(response.headers.get('content-length')) || undefined;
    return { source: Readable.fromWeb(response.body as never), size };
  }
  // First, so that a missing file fails here, not as a stray stream error.
  const { size } = await stat(input).catch((cause: Error) => {
    throw new DeepgramError('DG_INPUT', `cannot read ${input}: ${cause.message}`, { cause });
  });
  return { source: createReadStream(input), size };
}

/**
 * One input (a path, a URL, or a stream already open such as standard input), once: read, transcribe, and write
 * the format to `sink` (or collect the transcript).
 */
export async function transcribeOne(
  input: string | Readable,
  sink: Writable | undefined,
  options: Omit<BatchOptions, 'format'> & { format?: Format | 'live' },
  attempt = 1,
): Promise<Pick<FileResult, 'transcript' | 'metadata' | 'audioSeconds'>> {
  const {
    format = 'json',
    signal,
    onProgress,
    concurrency: _c,
    retries: _r,
    backoff: _b,
    outDir: _o,
    ...transcriberOptions
  } = options;
  const { source, size } = typeof input === 'string' ? await open(input, signal) : { source: input, size: undefined };
  const name = typeof input === 'string' ? input : '-';
  let bytesRead = 0;
  let transcribedSeconds = 0;
  let audioTotal: number | undefined;
  let head: Buffer | undefined = Buffer.alloc(0);
  const { raw } = transcriberOptions;
  const rawRate = raw && rawLayout(raw)?.bytesPerSecond;
  const report = () =>
    onProgress?.({ input: name, bytesRead, bytesTotal: size, transcribedSeconds, audioTotal, attempt });
  const counter = new Transform({
    transform(chunk: Buffer, _e, done) {
      bytesRead += chunk.length;
      if (head) {
        head = Buffer.concat([head, chunk]);
        audioTotal = durationOf(head, size, rawRate);
        if (audioTotal !== undefined || head.length >= HEAD_LIMIT) head = undefined;
      }
      report();
      done(null, chunk);
    },
  });
  let transcriber: ReturnType<typeof createTranscriber>;
  try {
    transcriber = createTranscriber({ ...transcriberOptions, signal });
  } catch (error) {
    source.destroy(); // options that can never work: close the input that was already opened
    throw error;
  }
  let metadata: MetadataMessage | FluxMetadataMessage | undefined;
  const finals: string[] = [];
  transcriber.on('metadata', (m) => (metadata = m));
  transcriber.on('data', (m: ServerMessage | FluxMessage) => {
    const done = finalOf(m);
    if (done) {
      transcribedSeconds = done.end;
      if (!sink) finals.push(done.text);
      report();
    }
  });
  const out = sink
    ? [...formatter(format), sink]
    : [new Writable({ objectMode: true, write: (_m, _e, done) => done() })];
  await pipeline([source, counter, transcriber, ...out], { signal });
  return {
    metadata,
    audioSeconds: metadata?.duration,
    ...(sink ? {} : { transcript: finals.filter(Boolean).join(' ') }),
  };
}

/**
 * One input into its file under `outDir`, the job that `transcribeMany` and the queue's workers share: skipped when
 * the file exists (a run that finished), else transcribed and written atomically (a crash leaves no half file).
 */
export async function transcribeToFile(
  input: string,
  options: BatchOptions & { outDir: string },
  attempt = 1,
): Promise<Awaited<ReturnType<typeof transcribeOne>> & { output: string; skipped: boolean }> {
  const output = join(options.outDir, outputName(input, options.format ?? 'json'));
  if (existsSync(output)) return { output, skipped: true };
  let result!: Awaited<ReturnType<typeof transcribeOne>>;
  await atomically(output, async (sink) => {
    result = await transcribeOne(input, sink, options, attempt);
  });
  return { output, skipped: false, ...result };
}

async function withRetries(input: string, options: BatchOptions): Promise<FileResult> {
  const { retries = 3, backoff = {}, outDir, signal } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!outDir)
        return {
          input,
          status: 'done',
          attempts: attempt,
          ...(await transcribeOne(input, undefined, options, attempt)),
        };
      const { skipped, ...result } = await transcribeToFile(input, { ...options, outDir }, attempt);
      return skipped
        ? { input, status: 'skipped', output: result.output, attempts: 0 }
        : { input, status: 'done', attempts: attempt, ...result };
    } catch (error) {
      if (signal?.aborted || attempt > retries || !isRetryable(error)) {
        return { input, status: 'failed', attempts: attempt, error: error as Error };
      }
      const { initial = 500, max = 30_000 } = backoff;
      await sleep(backoffDelay(attempt, initial, max), undefined, { signal }).catch(() => {});
    }
  }
}

/**
 * Transcribes every input (file paths or http(s) URLs), `concurrency` at a time, and yields a result for each
 * as it finishes. Failures are results too; only an abort ends the iteration early.
 */
export async function* transcribeMany(
  inputs: Iterable<string> | AsyncIterable<string>,
  options: BatchOptions = {},
): AsyncGenerator<FileResult> {
  const concurrency = Math.max(1, options.concurrency ?? 10);
  // Breaking out of the loop, or an input iterator that throws, stops the jobs in flight: none outlives the loop.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  // One listener on the run's signal for all its jobs, each with a signal of its own (its stages listen there): a
  // listener a job on the run's signal would pass Node's limit of 10 (a warning) in any batch of 6 or more.
  const jobs = new Set<AbortController>();
  signal.addEventListener('abort', () => jobs.forEach((job) => job.abort(signal.reason)), { once: true });
  const start = (input: string) => {
    const job = new AbortController();
    jobs.add(job);
    return withRetries(input, { ...options, signal: job.signal }).finally(() => jobs.delete(job));
  };
  const source = (async function* () {
    yield* inputs;
  })();
  const running = new Map<number, Promise<[number, FileResult]>>();
  let next = 0;
  let exhausted = false;
  try {
    while (true) {
      while (!exhausted && running.size < concurrency && !signal.aborted) {
        const item = await source.next();
        if (item.done) {
          exhausted = true;
          break;
        }
        const id = next++;
        running.set(
          id,
          start(item.value).then((result) => [id, result]),
        );
      }
      if (running.size === 0) return;
      const [id, result] = await Promise.race(running.values());
      running.delete(id);
      yield result;
    }
  } finally {
    stop.abort();
    await Promise.allSettled(running.values());
    await source.return(undefined);
  }
}
