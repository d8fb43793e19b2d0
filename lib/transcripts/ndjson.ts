import type { Transform } from 'node:stream';
import split2 from 'split2';
import { DeepgramError } from '../listen/errors.js';
import { messageProblem, parseJson } from '../protocol/guards.js';
import { mapObjects } from './results.js';
import { fluxMessageProblem } from '../protocol/flux.js';

/** Types only Flux sends, checked by Flux's guard; the rest (Error, Metadata) are checked as /v1's. */
const FLUX_ONLY = ['Connected', 'TurnInfo', 'ConfigureSuccess', 'ConfigureFailure', 'Warning'];
const isFluxOnly = (item: { type: unknown }) => FLUX_ONLY.includes(String(item.type));

/** One JSON document per line, so a run can be saved and replayed through the same transforms. */
export function toNdjson(): Transform {
  return mapObjects<unknown, string>((item) => `${JSON.stringify(item)}\n`);
}

/**
 * Reads NDJSON back into objects; blank lines are skipped. A line that is not JSON, or a server message of a known
 * type that lacks what it must hold, is a stream error naming the line: what a live socket would refuse.
 */
export function fromNdjson(): Transform {
  let line = 0;
  return split2((text: string) => {
    line++;
    if (text.trim() === '') return undefined;
    const json = parseJson(text);
    if (!json) throw new DeepgramError('DG_PROTOCOL', `line ${line} is not JSON: ${text.slice(0, 80)}`, { raw: text });
    const item = json.value;
    // Transcript objects written by this toolkit (utterances) are not server messages and pass as they are.
    const typed = item !== null && typeof item === 'object' && 'type' in item && item.type !== 'Utterance';
    const problem = typed ? (isFluxOnly(item) ? fluxMessageProblem(item) : messageProblem(item)) : undefined;
    if (problem)
      throw new DeepgramError('DG_PROTOCOL', `line ${line} is not a valid message (${problem})`, { raw: text });
    return item;
  });
}
