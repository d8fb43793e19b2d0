// Output formats of a transcription, and writing them so that a crash never leaves half a file.
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import type { ResultsMessage, ServerMessage } from '../protocol/messages.js';
import { isFinal } from '../protocol/guards.js';
import { mapObjects, toLiveText, toText, transcriptOf, utterances } from '../transcripts/results.js';
import { toNdjson } from '../transcripts/ndjson.js';
import { toSrt, toVtt } from '../transcripts/captions.js';
import { turnOf, type Turn } from '../transcripts/turns.js';
import type { FluxMessage } from '../protocol/flux.js';

/** Each format and the extension of its files. */
export const FORMATS = { text: 'txt', ndjson: 'ndjson', json: 'json', srt: 'srt', vtt: 'vtt' } as const;
export type Format = keyof typeof FORMATS;

/**
 * The stages that turn server messages into a format's text; `live` is text for a terminal (interims rewritten in
 * place), never written to a file.
 */
export function formatter(format: Format | 'live'): Duplex[] {
  switch (format) {
    case 'live':
      // https://no-color.org: any value but the empty string turns colour off.
      return [toLiveText({ color: !process.env.NO_COLOR })];
    case 'text':
      return [utterances(), toText()];
    case 'ndjson':
      return [toNdjson()];
    case 'srt':
      return [toSrt()];
    case 'vtt':
      return [toVtt()];
    case 'json': {
      // One document: the whole transcript, the Metadata, and every final (or, from Flux, every finished turn).
      const results: ResultsMessage[] = [];
      const turns: Turn[] = [];
      let metadata: unknown;
      return [
        mapObjects<ServerMessage | FluxMessage, string>(
          (m) => {
            const turn = turnOf(m);
            if (turn) turns.push(turn);
            else if (m.type === 'Metadata') metadata = m;
            else if (isFinal(m)) results.push(m);
            return undefined;
          },
          () => {
            const texts = turns.length > 0 ? turns.map((t) => t.text) : results.map(transcriptOf);
            const transcript = texts.filter(Boolean).join(' ');
            const document = turns.length > 0 ? { transcript, metadata, turns } : { transcript, metadata, results };
            return [`${JSON.stringify(document, null, 2)}\n`];
          },
        ),
      ];
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders already cleared by this process: a killed run's files are older than it, so once a folder is enough. */
const cleared = new Set<string>();

/**
 * Removes the temporary files a killed run left in `folder` (`<output>.<pid>.<random>.tmp` whose process is gone),
 * once per folder per process: reading a folder of thousands of outputs for every file written would be quadratic.
 */
async function removeStale(folder: string): Promise<void> {
  if (cleared.has(folder)) return;
  cleared.add(folder);
  for (const entry of await readdir(folder)) {
    const pid = /\.(\d+)\.[a-z0-9]+\.tmp$/.exec(entry)?.[1];
    if (pid !== undefined && !alive(Number(pid))) await rm(join(folder, entry), { force: true });
  }
}

/**
 * Writes to a temporary file beside `target` (making its folder) and renames it into place once complete, so a
 * crash leaves no half output; what a killed run left there is removed first.
 */
export async function atomically(target: string, write: (sink: Writable) => Promise<void>): Promise<void> {
  const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await mkdir(dirname(target), { recursive: true });
  await removeStale(dirname(target));
  try {
    await write(createWriteStream(temporary));
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
