// Scale-out on Redis (BullMQ): `enqueue` puts inputs on a queue; workers on any number of machines take them,
// under one concurrency limit shared by all (the account's), with attempts and backoff kept by the queue.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Job, Worker as BullWorker } from 'bullmq';
import type { Redis as RedisClient } from 'ioredis';
import { transcribeToFile, type BatchOptions } from './many.js';
import { isRetryable } from '../listen/retry.js';
import { DeepgramError } from '../listen/errors.js';

/**
 * BullMQ and ioredis are optional peers, installed by those who use the queue: without them, importing this is one
 * error that says what to install, not a module resolution trace.
 */
async function peer<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error('deepgram-stream/queue needs BullMQ and ioredis beside it: npm install bullmq ioredis', {
      cause: error,
    });
  }
}
const { Queue, UnrecoverableError, Worker } = await peer(() => import('bullmq'));
const { Redis } = await peer(() => import('ioredis'));

export const DEFAULT_QUEUE = 'deepgram-stream';

export interface QueueOptions {
  /** `redis://host:port`, or the path of a Unix socket. Default `REDIS_URL`, else `redis://127.0.0.1:6379`. */
  redis?: string;
  queue?: string;
}

export interface JobResult {
  output: string;
  skipped: boolean;
  audioSeconds?: number;
}

/** How long a command waits for Redis before saying it cannot reach it. */
const REDIS_WAIT_MS = 5000;

/**
 * A connection for BullMQ, made only once Redis has answered a PING within `REDIS_WAIT_MS`: a Redis that is down
 * is one clear error, not endless retries. Later errors (Redis going away) are left to BullMQ's reconnects.
 */
export async function connectRedis(redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): Promise<RedisClient> {
  const connection = new Redis(redis, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: REDIS_WAIT_MS,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  let last: Error | undefined;
  connection.on('error', (error: Error) => (last = error));
  const answered = connection.connect().then(() => connection.ping());
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => reject(last ?? new Error('no answer')), REDIS_WAIT_MS).unref(),
  );
  try {
    await Promise.race([answered, timer]);
  } catch (error) {
    connection.disconnect();
    const where = redis.replace(/\/\/[^@/]*@/, '//'); // never the password
    const cause = last ?? error;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new DeepgramError('DG_QUEUE', `cannot reach Redis at ${where}: ${why}`, { cause });
  }
  connection.options.retryStrategy = (times) => Math.min(times * 200, 2000);
  return connection;
}

/** Adds inputs (paths or URLs); an input already queued is not added twice. Says how many were new. */
export async function enqueue(
  inputs: string[],
  options: QueueOptions & {
    /** Tries per input, kept by the queue. Default 5. */
    attempts?: number;
    /** First backoff in ms, doubling. Default 1000. */
    backoff?: number;
    /** Jobs at once across every worker: the account's concurrent-stream limit. */
    limit?: number;
    /** Queue again inputs whose job has finished (done or failed). Default: they are left as they are. */
    force?: boolean;
    /** Local paths are on storage every worker shares as they are given: not made absolute, not checked here. */
    shared?: boolean;
  } = {},
): Promise<{ added: number; existing: number; finished: number; requeued: number }> {
  // A local path is queued as an absolute one (a worker elsewhere has another working directory), once it exists.
  const local = (input: string) => !/^https?:\/\//i.test(input) && !options.shared;
  const missing = inputs.filter((input) => local(input) && !existsSync(input));
  if (missing.length > 0)
    throw new DeepgramError(
      'DG_INPUT',
      `no such file to queue: ${missing.slice(0, 5).join(', ')}` +
        `${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} (nothing was queued)`,
    );
  const connection = await connectRedis(options.redis);
  const queue = new Queue(options.queue ?? DEFAULT_QUEUE, { connection });
  try {
    if (options.limit !== undefined) await queue.setGlobalConcurrency(options.limit);
    const unique = [...new Set(inputs.map((input) => (local(input) ? resolve(input) : input)))];
    const known = await Promise.all(unique.map((input) => queue.getJob(jobId(input))));
    const states = await Promise.all(known.map((job) => job?.getState()));
    const done = unique.filter((_, i) => states[i] === 'completed' || states[i] === 'failed');
    if (options.force) await Promise.all(known.filter((_, i) => done.includes(unique[i])).map((job) => job!.remove()));
    const fresh = unique.filter((input, i) => known[i] === undefined || (options.force && done.includes(input)));
    await queue.addBulk(
      fresh.map((input) => ({
        name: 'transcribe',
        data: { input },
        opts: {
          jobId: jobId(input),
          attempts: options.attempts ?? 5,
          backoff: { type: 'exponential', delay: options.backoff ?? 1000 },
          removeOnComplete: false,
          removeOnFail: false,
        },
      })),
    );
    const requeued = options.force ? done.length : 0;
    const finished = options.force ? 0 : done.length;
    return { added: fresh.length - requeued, existing: unique.length - fresh.length - finished, finished, requeued };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** One job per input: queuing it again finds the same job. */
const jobId = (input: string) => createHash('sha256').update(input).digest('hex');

/** A worker that transcribes queued inputs into `outDir`; failures that cannot improve are not retried. */
export async function startWorker(
  options: QueueOptions &
    BatchOptions & { outDir: string; /** One made by `connectRedis`, else made here. */ connection?: RedisClient },
): Promise<BullWorker<{ input: string }, JobResult>> {
  const connection = options.connection ?? (await connectRedis(options.redis));
  const format = options.format ?? 'json';
  const worker = new Worker<{ input: string }, JobResult>(
    options.queue ?? DEFAULT_QUEUE,
    async (job: Job<{ input: string }>) => {
      try {
        const { output, skipped, audioSeconds } = await transcribeToFile(
          job.data.input,
          { ...options, format },
          job.attemptsMade + 1,
        );
        return { output, skipped, audioSeconds };
      } catch (error) {
        if (!isRetryable(error)) throw new UnrecoverableError((error as Error).message);
        throw error;
      }
    },
    { connection, concurrency: options.concurrency ?? 10 },
  );
  worker.on('closed', () => connection.disconnect());
  return worker;
}
