import type { Transform } from 'node:stream';
import split2 from 'split2';
import { DeepgramError } from '../listen/errors.js';
import { messageProblem, parseJson, unknownMessage, wireForm } from '../protocol/guards.js';
import { SERVER_TYPES } from '../protocol/messages.js';
import { mapObjects } from './results.js';
import { fluxMessageProblem } from '../protocol/flux.js';

/** Types only Flux sends, checked by Flux's guard; the rest (Error, Metadata) are checked as /v1's. */
const FLUX_ONLY = ['Connected', 'TurnInfo', 'ConfigureSuccess', 'ConfigureFailure', 'Warning'];
const isFluxOnly = (item: { type: unknown }) => FLUX_ONLY.includes(String(item.type));
/** Objects this toolkit's transforms make, which pass as they are. */
const TOOLKIT_TYPES = ['Utterance', 'Turn'];

/** One JSON document per line, so a run can be saved and replayed through the same transforms. */
export function toNdjson(): Transform {
  return mapObjects<unknown, string>((item) => `${JSON.stringify(wireForm(item))}\n`);
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
    if (item === null || typeof item !== 'object' || !('type' in item) || typeof item.type !== 'string') return item;
    // Transcript objects written by this toolkit (utterances, turns) are not server messages and pass as they are.
    if (TOOLKIT_TYPES.includes(item.type)) return item;
    const problem = isFluxOnly(item) ? fluxMessageProblem(item) : messageProblem(item);
    if (problem)
      throw new DeepgramError('DG_PROTOCOL', `line ${line} is not a valid message (${problem})`, { raw: text });
    // A type neither protocol knows comes back as the streams delivered it: wrapped.
    const known = isFluxOnly(item) || SERVER_TYPES.includes(item.type);
    return known ? item : unknownMessage({ ...item, type: item.type });
  });
}
