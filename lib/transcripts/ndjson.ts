import type { Transform } from 'node:stream';
import split2 from 'split2';
import { mapObjects } from './results.js';

/** One JSON document per line, so a run can be saved and replayed through the same transforms. */
export function toNdjson(): Transform {
  return mapObjects<unknown, string>((item) => `${JSON.stringify(item)}\n`);
}

/** Reads NDJSON back into objects; blank lines are skipped, a bad line is a stream error naming it. */
export function fromNdjson(): Transform {
  let line = 0;
  return split2((text: string) => {
    line++;
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new SyntaxError(`line ${line} is not JSON: ${text.slice(0, 80)}`);
    }
  });
}
