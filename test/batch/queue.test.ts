// Scale-out on a real redis-server (Debian's package; .ci/run installs it). Each run starts its own server on a
// Unix socket in a temporary folder, so nothing is shared with another run.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { enqueue, startWorker } from '../../lib/batch/queue.js';
import { outputName } from '../../lib/batch/many.js';
import { cli, fixture, runMain, serve, until } from '../helpers.js';

async function redisServer(t: Test): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'dgs-redis-'));
  const socket = join(dir, 'redis.sock');
  const child = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  t.teardown(() => child.kill());
  for (let i = 0; i < 200 && !existsSync(socket); i++) await sleep(25);
  if (!existsSync(socket))
    throw new Error('redis-server did not start: is it installed (apt-get install redis-server)?');
  return socket;
}

async function waitFor(queue: Queue, count: number) {
  for (let i = 0; i < 600; i++) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if (counts.completed + counts.failed >= count) return counts;
    await sleep(50);
  }
  throw new Error('the jobs did not finish');
}

t.test(
  "workers share one concurrency limit; attempts and backoff are the queue's; results and failures recorded",
  async (t) => {
    const redis = await redisServer(t);
    let open = 0;
    let most = 0;
    const server = await serve(t, {
      realtimeFactor: 8,
      script: () => {
        open = server.connections;
        most = Math.max(most, open);
        return undefined;
      },
      faults: ({ index }) => (index === 0 ? { net0000AfterMs: 1 } : undefined),
    });
    const outDir = mkdtempSync(join(tmpdir(), 'dgs-queue-'));
    const inputs = [
      'speech.wav',
      'speech.mp3',
      'speech.ogg',
      'speech.flac',
      'speech.webm',
      'nope.wav',
      'speech.txt',
    ].map(fixture);
    // `shared`: nope.wav is queued as given (a worker finds it missing), not refused here.
    const queued = await enqueue(inputs, { redis, queue: 'test', limit: 2, attempts: 3, backoff: 10, shared: true });
    t.same(queued, { added: 7, existing: 0, finished: 0, requeued: 0 });
    const again = await enqueue(inputs.slice(0, 2), { redis, queue: 'test' });
    t.same(again, { added: 0, existing: 2, finished: 0, requeued: 0 }, 'queued again: nothing added, and said so');
    // Two workers of three slots each: without the shared limit, up to six streams would be open.
    const workers = await Promise.all(
      [0, 1].map(() => startWorker({ redis, queue: 'test', url: server.url, outDir, format: 'vtt', concurrency: 3 })),
    );
    const connection = new Redis(redis, { maxRetriesPerRequest: null });
    const queue = new Queue('test', { connection });
    const counts = await waitFor(queue, 7);
    t.same(counts, { completed: 5, failed: 2 }, 'the same input queued twice is one job');
    t.ok(most <= 2, `at most 2 streams at once across both workers (${most})`);
    for (const input of inputs.slice(0, 5))
      t.match(readFileSync(join(outDir, outputName(input, 'vtt')), 'utf8'), /^WEBVTT\n/);
    const completed = await queue.getCompleted();
    t.ok(
      completed.some((job) => job.attemptsMade >= 2),
      'the 1011 on the first stream was retried by the queue',
    );
    t.ok(completed.every((job) => job.returnvalue.output.startsWith(outDir)));
    const failed = await queue.getFailed();
    const reasons = Object.fromEntries(failed.map((job) => [job.data.input, [job.failedReason, job.attemptsMade]]));
    t.match(reasons[fixture('nope.wav')], [/ENOENT/, 1], 'a missing file is not retried');
    t.match(reasons[fixture('speech.txt')], [/FFmpeg could not decode/, 1], 'nor is input that is not audio');
    const finished = await enqueue(inputs.slice(0, 2), { redis, queue: 'test' });
    t.same(finished, { added: 0, existing: 0, finished: 2, requeued: 0 }, 'finished inputs are said to be');
    const forced = await enqueue(inputs.slice(0, 2), { redis, queue: 'test', force: true });
    t.same(forced, { added: 0, existing: 0, finished: 0, requeued: 2 }, '--force queues them again');
    t.equal((await queue.getJob(createHash('sha256').update(inputs[0]).digest('hex')))?.attemptsMade, 0);
    await Promise.all(workers.map((w) => w.close()));
    await queue.close();
    connection.disconnect();
  },
);

t.test('deepgram-stream enqueue and worker on the command line', async (t) => {
  const redis = await redisServer(t);
  const server = await serve(t);
  const outDir = mkdtempSync(join(tmpdir(), 'dgs-queue-cli-'));
  const queued = await runMain([
    'enqueue',
    '--redis',
    redis,
    '--queue',
    'cli',
    '--limit',
    '5',
    ...['wav', 'ogg'].map((e) => fixture(`speech.${e}`)),
  ]);
  t.equal(queued.code, 0);
  t.match(queued.out, /^deepgram-stream: 2 inputs queued\n$/);
  const relative = await runMain(['enqueue', '--redis', redis, '--queue', 'relative', 'test/fixtures/speech.flac']);
  t.equal(relative.code, 0, relative.err);
  const relativeConnection = new Redis(redis, { maxRetriesPerRequest: null });
  const relativeQueue = new Queue('relative', { connection: relativeConnection });
  const absolute = resolve('test/fixtures/speech.flac');
  const job = await relativeQueue.getJob(createHash('sha256').update(absolute).digest('hex'));
  t.equal(job?.data.input, absolute, 'a relative path is queued as an absolute one');
  await relativeQueue.close();
  relativeConnection.disconnect();
  const missing = await runMain(['enqueue', '--redis', redis, '--queue', 'cli', 'no/such/file.wav']);
  t.equal(missing.code, 1);
  t.match(missing.err, /no such file to queue: no\/such\/file\.wav \(nothing was queued\)/);
  let stop!: () => void;
  const running = runMain(
    ['worker', '--redis', redis, '--queue', 'cli', '--url', server.url, '--out', outDir, '--format', 'srt'],
    {
      stop: new Promise<void>((resolve) => (stop = resolve)),
    },
  );
  const connection = new Redis(redis, { maxRetriesPerRequest: null });
  const queue = new Queue('cli', { connection });
  await waitFor(queue, 2);
  stop();
  const worked = await running;
  t.equal(worked.code, 0);
  t.match(worked.out, /done .*speech\.wav -> .*speech\.wav\.srt/);
  t.ok(existsSync(join(outDir, 'test', 'fixtures', 'speech.ogg.srt')));
  await queue.close();
  connection.disconnect();
});

// Bounded: the kill switch (45 s, room for compiling on a loaded machine) turns a hang into a failure.
t.test('Redis down: enqueue and worker say so in one line and exit 1, in bounded time', async (t) => {
  const runs = await Promise.all([
    cli(['enqueue', '--redis', 'redis://127.0.0.1:1', fixture('speech.wav')], { timeout: 45_000 }).done,
    cli(['worker', '--redis', 'redis://127.0.0.1:1', '--out', tmpdir()], { timeout: 45_000 }).done,
  ]);
  for (const run of runs) {
    t.equal(run.status, 1);
    t.match(
      run.stderr,
      /^deepgram-stream: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED.*\n$/,
      'one line',
    );
  }
});

t.test('worker: SIGTERM or SIGINT stops taking jobs, finishes the one in flight, and exits', async (t) => {
  const redis = await redisServer(t);
  const server = await serve(t, { realtimeFactor: 4 }); // a job takes about 2 s
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const outDir = mkdtempSync(join(tmpdir(), 'dgs-queue-signal-'));
    const name = `signal-${signal}`;
    const worker = cli(
      ['worker', '--redis', redis, '--queue', name, '--url', server.url, '--out', outDir, '--concurrency', '1'],
      { timeout: 60_000 },
    );
    await until(() => worker.output().includes('worker on queue'), 'the worker started', 60_000);
    await enqueue([fixture('speech.wav'), fixture('speech.ogg')], { redis, queue: name });
    await until(() => server.connections > 0, 'the worker took a job', 30_000);
    worker.child.kill(signal);
    const { status, stdout } = await worker.done;
    t.equal(status, 0, `${signal}: exit 0`);
    t.match(stdout, /done .*speech\.wav/, `${signal}: the job in flight was finished`);
    t.notMatch(stdout, /speech\.ogg/, `${signal}: no new job was taken`);
    t.ok(existsSync(join(outDir, outputName(fixture('speech.wav'), 'json'))));
  }
});
