#!/usr/bin/env node
// deepgram-stream: `serve` runs the local server; `transcribe` streams files to Deepgram (or the local server).
import { createReadStream, createWriteStream, existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Duplex, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServer, type LocalServer } from './server/index.js';
import { createTranscriber } from './transcribe.js';
import { QUERY_PARAMS, type ListenQuery } from './protocol/options.js';
import type { MetadataMessage, ResultsMessage, ServerMessage } from './protocol/messages.js';
import { mapObjects, toText, transcriptOf, utterances } from './transcripts/results.js';
import { toNdjson } from './transcripts/ndjson.js';
import { toSrt, toVtt } from './transcripts/captions.js';

const USAGE = `Usage:
  deepgram-stream transcribe <file...|-> [--format text|ndjson|json|srt|vtt] [--out DIR]
                  [--local | --url URL] [--api-key KEY] [--decode auto|always] [--pace X]
                  [--model nova-3] [--interim_results] [--keyterm TERM]... (every /v1/listen parameter)
  deepgram-stream serve [--port N] [--host H] [--api-key KEY] [--script FILE]
                  [--realtime-factor X|off] [--inactivity-timeout MS]

With no key (DEEPGRAM_API_KEY or --api-key) and no --url, transcribe runs against an embedded local
server, whose words are synthetic.`;

const FORMATS = { text: 'txt', ndjson: 'ndjson', json: 'json', srt: 'srt', vtt: 'vtt' } as const;
type Format = keyof typeof FORMATS;

class UsageError extends Error {}

function queryOptions(): ParseArgsConfig['options'] {
  return Object.fromEntries(Object.entries(QUERY_PARAMS).map(([name, kind]) =>
    [name, kind === 'flag' ? { type: 'boolean' } : { type: 'string', multiple: kind === 'repeatable' }]));
}

function queryFrom(values: Record<string, unknown>): ListenQuery {
  const query: Record<string, unknown> = {};
  for (const name of Object.keys(QUERY_PARAMS)) if (values[name] !== undefined) query[name] = values[name];
  return query as ListenQuery;
}

/** The output stages of each format: server messages in, text out. */
function formatter(format: Format): Duplex[] {
  switch (format) {
    case 'text': return [utterances(), toText()];
    case 'ndjson': return [toNdjson()];
    case 'srt': return [toSrt()];
    case 'vtt': return [toVtt()];
    case 'json': {
      // One document: the whole transcript, the Metadata, and every final.
      const results: ResultsMessage[] = [];
      let metadata: MetadataMessage | undefined;
      return [mapObjects<ServerMessage, string>((m) => {
        if (m.type === 'Metadata') metadata = m as MetadataMessage;
        else if (m.type === 'Results' && (m as ResultsMessage).is_final) results.push(m as ResultsMessage);
        return undefined;
      }, () => [`${JSON.stringify({ transcript: results.map(transcriptOf).filter(Boolean).join(' '), metadata, results }, null, 2)}\n`])];
    }
  }
}

/** Writes to a temporary file and renames it into place once complete, so a crash leaves no half output. */
async function atomically(target: string, write: (sink: Writable) => Promise<void>): Promise<void> {
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    await write(createWriteStream(temporary));
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function sidecarScript(file: string): string | undefined {
  for (const candidate of [`${file}.txt`, `${file.slice(0, -extname(file).length)}.txt`]) {
    if (candidate !== file && existsSync(candidate)) return readFileSync(candidate, 'utf8');
  }
  return undefined;
}

/** Where the CLI reads and writes, and what stops `serve`: the process's own unless a caller says otherwise. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Stops `serve`; by default SIGINT or SIGTERM. */
  stop?: Promise<void>;
}

async function transcribe(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      format: { type: 'string', default: 'text' }, out: { type: 'string' }, local: { type: 'boolean' },
      url: { type: 'string' }, 'api-key': { type: 'string' }, decode: { type: 'string', default: 'auto' },
      pace: { type: 'string' }, ...queryOptions(),
    },
  });
  const format = values.format as Format;
  if (!(format in FORMATS)) throw new UsageError(`--format must be one of ${Object.keys(FORMATS).join(', ')}`);
  if (positionals.length === 0) throw new UsageError('name at least one file, or - for standard input');
  if (positionals.length > 1 && !values.out) throw new UsageError('several files need --out DIR for their outputs');
  const apiKey = (values['api-key'] as string | undefined) ?? process.env.DEEPGRAM_API_KEY;
  const local = Boolean(values.local) || (!apiKey && !values.url);
  if (local) io.stderr.write('deepgram-stream: no Deepgram key, so using the embedded local server: its words are synthetic, not recognized speech\n');
  if (values.out) await mkdir(values.out as string, { recursive: true });
  const query = queryFrom(values);
  let failures = 0;
  for (const file of positionals) {
    let server: LocalServer | undefined;
    try {
      if (local) server = await startServer({ realtimeFactor: false, script: file === '-' ? undefined : sidecarScript(file) });
      const input: Readable = file === '-' ? io.stdin : createReadStream(file);
      const transcriber = createTranscriber({
        query, apiKey, url: server?.url ?? (values.url as string | undefined),
        decode: values.decode === 'always' ? 'always' : 'auto',
        pace: values.pace === undefined ? undefined : Number(values.pace),
      });
      const stages = [input, transcriber, ...formatter(format)];
      if (!values.out) {
        await pipeline([...stages, io.stdout], { end: false });
      } else {
        const name = file === '-' ? 'stdin' : basename(file);
        await atomically(join(values.out as string, `${name}.${FORMATS[format]}`), (sink) => pipeline([...stages, sink]));
      }
    } catch (error) {
      failures++;
      io.stderr.write(`deepgram-stream: ${file}: ${(error as Error).message}\n`);
    } finally {
      await server?.close();
    }
  }
  return failures > 0 ? 1 : 0;
}

async function serve(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' }, 'api-key': { type: 'string' },
      script: { type: 'string' }, 'realtime-factor': { type: 'string', default: '1.25' },
      'inactivity-timeout': { type: 'string', default: '12000' },
    },
  });
  const factor = values['realtime-factor'] === 'off' ? false : Number(values['realtime-factor']);
  const server = await startServer({
    port: Number(values.port), host: values.host, apiKey: values['api-key'],
    script: values.script ? readFileSync(values.script, 'utf8') : undefined,
    realtimeFactor: factor, inactivityTimeout: Number(values['inactivity-timeout']),
  });
  io.stdout.write(`deepgram-stream: local /v1/listen server on ${server.url} (its words are synthetic)\n`);
  await (io.stop ?? new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  }));
  await server.close();
  return 0;
}

const PROCESS_IO: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'transcribe') return await transcribe(rest, io);
    if (command === 'serve') return await serve(rest, io);
    if (command === undefined || command === '--help' || command === '-h') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.stderr.write(`deepgram-stream: ${(error as Error).message}\n${usage ? `${USAGE}\n` : ''}`);
    return 2;
  }
}

// Run only as the command itself (npm links the bin, so compare real paths), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
