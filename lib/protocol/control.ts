// Text frames a client sends on /v1/listen (spec §3), as the server reads them: a known control message, or the
// SchemaError Deepgram answers with, worded as its serde deserializer words it.
import { CONTROL_TYPES, type ErrorMessage } from './messages.js';
import { parseJson } from './guards.js';

/** A control message as received: its type, and the fields the server acts on. */
export interface ReceivedControl {
  type: (typeof CONTROL_TYPES)[number];
  /** Finalize's channel. */
  channel?: number;
  /** Sync's id, echoed back. */
  id?: unknown;
}

/** The most of a refused frame echoed back: a client's megabytes are not held again, escaped, in its queue. */
export const ECHO_LIMIT = 1024;

/** The SchemaError for a text frame that is not a control message; its echo cut to `ECHO_LIMIT` characters. */
export function schemaError(raw: string, detail: string): ErrorMessage {
  const cut = (text: string) => (text.length > ECHO_LIMIT ? `${text.slice(0, ECHO_LIMIT)}…` : text);
  return {
    type: 'Error',
    variant: 'SchemaError',
    description: `Could not deserialize last text message: ${cut(detail)}`,
    message: cut(raw),
  };
}

const isControlType = (type: unknown): type is ReceivedControl['type'] => CONTROL_TYPES.some((known) => known === type);

/** The control message a text frame holds, or what serde would say of it. */
export function parseControl(raw: string): { control: ReceivedControl } | { problem: string } {
  const json = parseJson(raw);
  if (!json) return { problem: 'expected value at line 1 column 1' };
  const parsed = json.value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { problem: `invalid type: expected internally tagged enum at line 1 column ${raw.length}` };
  }
  const type = 'type' in parsed ? parsed.type : undefined;
  if (typeof type !== 'string') return { problem: `missing field \`type\` at line 1 column ${raw.length}` };
  if (!isControlType(type)) {
    const at = /"type"\s*:\s*"(?:[^"\\]|\\.)*"/.exec(raw);
    const column = at ? at.index + at[0].length : raw.length;
    const expected = CONTROL_TYPES.map((t) => `\`${t}\``).join(', ');
    return { problem: `unknown variant \`${type}\`, expected one of ${expected} at line 1 column ${column}` };
  }
  const channel = 'channel' in parsed && typeof parsed.channel === 'number' ? parsed.channel : undefined;
  return { control: { type, channel, id: 'id' in parsed ? parsed.id : undefined } };
}
