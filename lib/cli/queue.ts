// `deepgram-stream enqueue` and `worker`: the Redis queue (BullMQ), loaded only by these commands.
import { integer, parse, text, UsageError, type Command } from './args.js';
import { stopRequested, type CliIo } from './io.js';
import { LISTEN_OPTIONS, localServer, transcriptionFlags } from './transcribe.js';

const REDIS_OPTIONS = { redis: { type: 'string' }, queue: { type: 'string' } } as const;

export const ENQUEUE: Command = {
  positionals: true,
  options: {
    ...REDIS_OPTIONS,
    attempts: { type: 'string' },
    backoff: { type: 'string' },
    limit: { type: 'string' },
    force: { type: 'boolean' },
    shared: { type: 'boolean' },
  },
  usage: `deepgram-stream enqueue <file...|url...> [options]

  --redis URL (REDIS_URL, else redis://127.0.0.1:6379), --queue NAME (deepgram-stream)
  --attempts N (5), --backoff MS (1000)   tries per input, and the first wait between them (doubling)
  --limit N                               streams at once across every worker: the account's limit
  --force                                 queue again inputs that finished (done or failed) before
  --shared                                local paths are on storage every worker sees as given (not checked)
  Local paths are queued as absolute paths, and must exist.`,
};

export const WORKER: Command = {
  options: { ...LISTEN_OPTIONS, ...REDIS_OPTIONS, out: { type: 'string' } },
  usage: `deepgram-stream worker --out DIR [options]

  --redis URL, --queue NAME               as for enqueue
  --concurrency N (10)                    inputs at once in this worker
  --format, --url, --api-key, --model ... transcribe's options; outputs mirror the inputs' paths under DIR
  Stops on SIGINT or SIGTERM: takes no new input, finishes those in flight (a second signal stops at once).`,
};

export async function enqueueCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals, help } = parse(ENQUEUE, args);
  if (help) return (io.stdout.write(`Usage: ${ENQUEUE.usage}\n`), 0);
  if (positionals.length === 0) throw new UsageError('name at least one file or URL to queue');
  const options = {
    redis: text(values, 'redis'),
    queue: text(values, 'queue'),
    attempts: integer(values, 'attempts'),
    backoff: integer(values, 'backoff', 0),
    limit: integer(values, 'limit'),
    force: values.force === true,
    shared: values.shared === true,
  };
  const { enqueue } = await import('../batch/queue.js');
  const { added, existing, finished, requeued } = await enqueue(positionals, options);
  const count = (n: number, what: string) => `${n} input${n === 1 ? '' : 's'} ${what}`;
  const said = [
    count(added, 'queued'),
    requeued > 0 ? count(requeued, 'that had finished queued again') : '',
    existing > 0 ? count(existing, 'already waiting or running, left as they were') : '',
    finished > 0 ? count(finished, 'finished before, left as they were (--force queues them again)') : '',
  ];
  io.stdout.write(`deepgram-stream: ${said.filter(Boolean).join('; ')}\n`);
  return 0;
}

export async function workerCommand(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parse(WORKER, args);
  if (help) return (io.stdout.write(`Usage: ${WORKER.usage}\n`), 0);
  const outDir = text(values, 'out');
  if (!outDir) throw new UsageError('a worker needs --out DIR for its outputs');
  const { local, ...options } = transcriptionFlags(values, 'json');
  const { connectRedis, startWorker } = await import('../batch/queue.js');
  const connection = await connectRedis(text(values, 'redis')); // first: with Redis down, nothing else starts
  const server = local ? await localServer(io) : undefined;
  try {
    const running = await startWorker({
      ...options,
      url: server?.url ?? options.url,
      outDir,
      connection,
      queue: text(values, 'queue'),
    });
    running.on('completed', (job, result) =>
      io.stdout.write(`${result.skipped ? 'skipped' : 'done'} ${job.data.input} -> ${result.output}\n`),
    );
    running.on('failed', (job, error) => io.stderr.write(`deepgram-stream: ${job?.data.input}: ${error.message}\n`));
    io.stdout.write(`deepgram-stream: worker on queue ${text(values, 'queue') ?? 'deepgram-stream'}\n`);
    await stopRequested(io).stopped;
    io.stderr.write('deepgram-stream: stopping: finishing the inputs in flight\n');
    await running.close();
    return 0;
  } finally {
    await server?.close();
  }
}
