#!/usr/bin/env node
// deepgram-stream: transcribe files (many at once), run the local server or the browser relay, feed and drain a
// Redis queue, measure latency.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError, type Command } from './args.js';
import type { CliIo } from './io.js';
import { serve, SERVE } from './serve.js';
import { transcribe, TRANSCRIBE } from './transcribe.js';
import { ENQUEUE, enqueueCommand, WORKER, workerCommand } from './queue.js';
import { latency, LATENCY } from './latency.js';
import { relay, RELAY } from './relay.js';

export type { CliIo } from './io.js';

const COMMANDS: Record<string, { command: Command; run: (args: string[], io: CliIo) => Promise<number> }> = {
  transcribe: { command: TRANSCRIBE, run: transcribe },
  serve: { command: SERVE, run: serve },
  enqueue: { command: ENQUEUE, run: enqueueCommand },
  worker: { command: WORKER, run: workerCommand },
  latency: { command: LATENCY, run: latency },
  relay: { command: RELAY, run: relay },
};

const USAGE = `Usage:
${Object.values(COMMANDS)
  .map(({ command }) => `  ${command.usage.split('\n')[0]}`)
  .join('\n')}
  deepgram-stream --version

'deepgram-stream COMMAND --help' lists a command's options. With no key (DEEPGRAM_API_KEY or --api-key) and no
--url, transcribe, latency and relay run against an embedded local server, whose words are synthetic.`;

function version(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof manifest === 'object' && manifest && 'version' in manifest ? String(manifest.version) : 'unknown';
}

const PROCESS_IO: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const [name, ...rest] = argv;
  const entry = name === undefined ? undefined : COMMANDS[name];
  try {
    if (entry) return await entry.run(rest, io);
    if (name === undefined || name === '--help' || name === '-h') return (io.stdout.write(`${USAGE}\n`), 0);
    if (name === '--version' || name === '-v') return (io.stdout.write(`${version()}\n`), 0);
    throw new UsageError(`unknown command "${name}"`);
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const help = entry ? `Usage: ${entry.command.usage}` : USAGE;
    io.stderr.write(`deepgram-stream: ${(error as Error).message}\n${usage ? `${help}\n` : ''}`);
    return usage ? 2 : 1;
  }
}

// Run only as the command itself (npm links the bin, so compare real paths), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // A reader that went away (`| head -1`) is no failure of ours: later writes to it are dropped without a trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
  process.exitCode = await main(process.argv.slice(2));
}
