#!/usr/bin/env node
// deepgram-stream: transcribe files (many at once), run the local server or the browser relay, feed and drain a
// Redis queue, measure latency.
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { ffmpegCommand } from '../audio/ffmpeg.js';
import { fileURLToPath } from 'node:url';
import { UsageError, type Command } from './args.js';
import type { CliIo } from './io.js';
import { serve, SERVE } from './serve.js';
import { transcribe, TRANSCRIBE } from './transcribe.js';
import { ENQUEUE, enqueueCommand, WORKER, workerCommand } from './queue.js';
import { latency, LATENCY } from './latency.js';
import { relay, RELAY } from './relay.js';
import { speak, SPEAK } from './speak.js';

export type { CliIo } from './io.js';

type Entry = { command: Command; run: (args: string[], io: CliIo) => Promise<number>; does: string };

const COMMANDS: Record<string, Entry> = {
  transcribe: { command: TRANSCRIBE, run: transcribe, does: 'files, URLs or standard input to text, captions or JSON' },
  speak: { command: SPEAK, run: speak, does: 'text to speech: a WAV file, or raw audio on standard output' },
  serve: { command: SERVE, run: serve, does: 'the local Deepgram-compatible server, until stopped' },
  relay: { command: RELAY, run: relay, does: 'a page and a socket that transcribe a browser microphone' },
  latency: { command: LATENCY, run: latency, does: 'a file streamed in real time: how long each word takes' },
  enqueue: { command: ENQUEUE, run: enqueueCommand, does: 'put inputs on a Redis queue for workers' },
  worker: { command: WORKER, run: workerCommand, does: 'transcribe what a Redis queue holds, until stopped' },
};

const USAGE = `Usage: deepgram-stream COMMAND [options]

${Object.entries(COMMANDS)
  .map(([name, { does }]) => `  ${name.padEnd(12)}${does}`)
  .join('\n')}
  ${'help'.padEnd(12)}this text, or 'help COMMAND' for a command's options
  ${'-V'.padEnd(12)}the version of deepgram-stream and of the FFmpeg it runs

'deepgram-stream COMMAND --help' lists a command's options too. With no key (DEEPGRAM_API_KEY or --api-key) and no
--url, transcribe, speak, latency and relay run against an embedded local server, whose words are synthetic.`;

function version(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof manifest === 'object' && manifest && 'version' in manifest ? String(manifest.version) : 'unknown';
}

/** The FFmpeg that decodes untrusted input here, and its version: a person should be able to tell which it is. */
function ffmpegVersion(): string {
  try {
    const command = ffmpegCommand();
    const first = spawnSync(command, ['-version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
    return `${first.split(' ').slice(0, 3).join(' ')} (${command})`; // "ffmpeg version N-…", not its builder's URL
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const PROCESS_IO: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const [name, ...rest] = argv;
  const entry = name === undefined ? undefined : COMMANDS[name];
  try {
    if (entry) return await entry.run(rest, io);
    // No command is a mistake (exit 2), with the usage where mistakes go; asking for help is not.
    if (name === undefined) return (io.stderr.write(`${USAGE}\n`), 2);
    if (name === '--help' || name === '-h') return (io.stdout.write(`${USAGE}\n`), 0);
    if (name === 'help') {
      if (rest[0] === undefined) return (io.stdout.write(`${USAGE}\n`), 0);
      const asked = COMMANDS[rest[0]];
      if (!asked) throw new UsageError(`no command "${rest[0]}" to help with`);
      return (io.stdout.write(`Usage: ${asked.command.usage}\n`), 0);
    }
    if (name === '--version' || name === '-v' || name === '-V') {
      return (io.stdout.write(`${version()}\nFFmpeg: ${ffmpegVersion()}\n`), 0);
    }
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
