// `deepgram-stream serve`: the local Deepgram-compatible server, until stopped.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { maxWorkers, startServer } from '../server/index.js';
import { integer, parse, positive, text, UsageError, type Command } from './args.js';
import { stopRequested, type CliIo } from './io.js';

export const SERVE: Command = {
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'api-key': { type: 'string' },
    script: { type: 'string' },
    'realtime-factor': { type: 'string' },
    'inactivity-timeout': { type: 'string' },
    'max-connections': { type: 'string' },
    workers: { type: 'string' },
  },
  usage: `deepgram-stream serve [options]

  --port N (8080), --host H (127.0.0.1)   where to listen
  --api-key KEY                           the only key let in (default: any)
  --script FILE                           the words its transcripts say, in order
  --realtime-factor X|off (1.25)          audio seconds taken per second, as Deepgram; off for no throttle
  --inactivity-timeout MS (12000)         silence before the 1011 NET-0001 close
  --max-connections N (1000)              sessions at once, over every worker; the next is refused with 429
  --workers N (one per core)              processes the sessions are spread over; 0 for this process alone
  Serves /v1/listen, Flux's /v2/listen and /v1/speak; a line on stderr as each listen session ends.`,
};

export async function serve(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parse(SERVE, args);
  if (help) return (io.stdout.write(`Usage: ${SERVE.usage}\n`), 0);
  const factor = text(values, 'realtime-factor');
  const scriptFile = text(values, 'script');
  if (scriptFile !== undefined && !scriptFile) throw new UsageError('--script takes a file');
  // A worker per core keeps real time at thousands of streams; on one core a worker would only add a hop.
  const workers = integer(values, 'workers', 0) ?? (availableParallelism() > 1 ? availableParallelism() : 0);
  if (workers > maxWorkers())
    throw new UsageError(`--workers takes at most ${maxWorkers()} on this machine, not ${workers}`);
  const server = await startServer({
    port: integer(values, 'port', 0) ?? 8080,
    host: text(values, 'host') ?? '127.0.0.1',
    apiKey: text(values, 'api-key'),
    script: scriptFile ? readFileSync(scriptFile, 'utf8') : undefined,
    realtimeFactor: factor === 'off' ? false : (positive(values, 'realtime-factor') ?? 1.25),
    inactivityTimeout: integer(values, 'inactivity-timeout'),
    maxConnections: integer(values, 'max-connections'),
    workers,
    onSession: ({ path, requestId, bytes, code }) =>
      io.stderr.write(`deepgram-stream: ${path} session ${requestId}: ${bytes} bytes of audio, closed ${code}\n`),
  });
  const paths = "/v1/listen, Flux's /v2/listen and /v1/speak";
  const where = workers ? `, ${workers} worker processes` : '';
  io.stdout.write(`deepgram-stream: local server on ${server.url}: ${paths} (synthetic words and voice${where})\n`);
  await stopRequested(io).stopped;
  await server.close();
  return 0;
}
