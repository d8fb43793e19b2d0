// Scale-out on Redis (BullMQ): `enqueue` puts inputs on a queue; workers on any number of machines take them,
// under one concurrency limit shared by all (the account's), with attempts and backoff kept by the queue.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { atomically } from './outputs.js';
import { isRetryable, outputName, transcribeOne, type BatchOptions } from './many.js';

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

const connect = (redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') =>
  new Redis(redis, { maxRetriesPerRequest: null });

/** Adds inputs (paths or URLs); an input already queued is not added twice. Returns the queue, to close. */
export async function enqueue(inputs: string[], options: QueueOptions & {
  /** Tries per input, kept by the queue. Default 5. */
  attempts?: number;
  /** First backoff in ms, doubling. Default 1000. */
  backoff?: number;
  /** Jobs at once across every worker: the account's concurrent-stream limit. */
  limit?: number;
} = {}): Promise<{ added: number; close(): Promise<void> }> {
  const connection = connect(options.redis);
  const queue = new Queue(options.queue ?? DEFAULT_QUEUE, { connection });
  if (options.limit !== undefined) await queue.setGlobalConcurrency(options.limit);
  const jobs = await queue.addBulk(inputs.map((input) => ({
    name: 'transcribe',
    data: { input },
    opts: {
      jobId: createHash('sha256').update(input).digest('hex'),
      attempts: options.attempts ?? 5,
      backoff: { type: 'exponential', delay: options.backoff ?? 1000 },
      removeOnComplete: false,
      removeOnFail: false,
    },
  })));
  return {
    added: jobs.length,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

/** A worker that transcribes queued inputs into `outDir`; failures that cannot improve are not retried. */
export function startWorker(options: QueueOptions & BatchOptions & { outDir: string }): Worker<{ input: string }, JobResult> {
  const connection = connect(options.redis);
  const format = options.format ?? 'json';
  const worker = new Worker<{ input: string }, JobResult>(options.queue ?? DEFAULT_QUEUE, async (job: Job<{ input: string }>) => {
    const output = join(options.outDir, outputName(job.data.input, format));
    if (existsSync(output)) return { output, skipped: true };
    try {
      let audioSeconds: number | undefined;
      await atomically(output, async (sink) => {
        ({ audioSeconds } = await transcribeOne(job.data.input, sink, { ...options, format }, job.attemptsMade + 1));
      });
      return { output, skipped: false, audioSeconds };
    } catch (error) {
      if (!isRetryable(error)) throw new UnrecoverableError((error as Error).message);
      throw error;
    }
  }, { connection, concurrency: options.concurrency ?? 10 });
  worker.on('closed', () => connection.disconnect());
  return worker;
}
