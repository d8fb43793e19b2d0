// Flux's messages on /v2/listen (flux spec §4), and their guards: what a known type must hold before anything reads
// it. Its query and Configure are in flux-options.ts.
import { parseMessage } from './guards.js';
import type { ServerMessage, UnknownMessage } from './messages.js';
import { MAX_KEYTERMS, thresholdsProblem, type FluxConfig } from './flux-options.js';
import type { SpeakMessage } from './speak.js';

export * from './flux-options.js';

export type FluxWord = {
  word: string;
  confidence: number;
  start?: number;
  end?: number;
};

export type TurnEvent = 'Update' | 'StartOfTurn' | 'EagerEndOfTurn' | 'TurnResumed' | 'EndOfTurn';

export type ConnectedMessage = {
  type: 'Connected';
  request_id: string;
  sequence_id: number;
};

export type TurnInfoMessage = {
  type: 'TurnInfo';
  request_id: string;
  sequence_id: number;
  event: TurnEvent;
  turn_index: number;
  audio_window_start: number;
  audio_window_end: number;
  /** Everything said in this turn so far (replace, do not append). */
  transcript: string;
  words: FluxWord[];
  end_of_turn_confidence: number;
  /** On EndOfTurn only: `model`, `timeout` or `manual` (an open list). */
  trigger?: string;
  languages?: string[];
  languages_hinted?: string[];
};

export type ConfigureSuccessMessage = FluxConfig & {
  type: 'ConfigureSuccess';
  request_id: string;
  sequence_id: number;
};

export type ConfigureFailureMessage = {
  type: 'ConfigureFailure';
  request_id: string;
  sequence_id: number;
  code?: string;
  description?: string;
};

export type FluxWarningMessage = {
  type: 'Warning';
  request_id: string;
  sequence_id: number;
  code: string;
  description: string;
};

/** Fatal: the server closes after it. */
export type FluxErrorMessage = {
  type: 'Error';
  sequence_id: number;
  code: string;
  description: string;
};

/** The client's own last message of a Flux session (Flux sends no Metadata): see `createFluxStream`. */
export type FluxMetadataMessage = {
  type: 'Metadata';
  /** `dg-request-id` of the last session. */
  request_id: string;
  /** Seconds of audio: sent, for headerless audio; else as far as the server's TurnInfo reached. */
  duration: number;
  /** Bytes of audio sent. */
  bytes: number;
  /** Their sha256, with the option `sha256: true`. */
  sha256?: string;
  /** Turns ended (EndOfTurn) in the stream. */
  turns: number;
};

export type FluxMessage =
  | ConnectedMessage
  | TurnInfoMessage
  | ConfigureSuccessMessage
  | ConfigureFailureMessage
  | FluxWarningMessage
  | FluxErrorMessage
  | FluxMetadataMessage
  | UnknownMessage;

/** A message of any of the package's sockets: what the shared link, reconnect layer and streams carry. */
export type SessionMessage = ServerMessage | FluxMessage | SpeakMessage;

/** The types of Flux messages this version knows (Metadata is the stream's own). */
const FLUX_TYPES = ['Connected', 'TurnInfo', 'ConfigureSuccess', 'ConfigureFailure', 'Warning', 'Error', 'Metadata'];

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const number = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Why a Flux message cannot be used, or undefined; unknown types pass when they are objects with a `type`. */
export function fluxMessageProblem(m: unknown): string | undefined {
  if (!isRecord(m) || typeof m.type !== 'string') return 'not an object with a string "type"';
  if (m.type === 'TurnInfo') {
    if (typeof m.event !== 'string') return 'TurnInfo: event is not a string';
    if (!number(m.turn_index)) return 'TurnInfo: turn_index is not a number';
    if (!number(m.audio_window_start) || !number(m.audio_window_end))
      return 'TurnInfo: audio_window_start and audio_window_end must be numbers';
    if (m.audio_window_start < 0 || m.audio_window_end < m.audio_window_start)
      return 'TurnInfo: the audio window must not start below 0 or end before it starts';
    if (!number(m.end_of_turn_confidence)) return 'TurnInfo: end_of_turn_confidence is not a number';
    if (typeof m.transcript !== 'string') return 'TurnInfo: transcript is not a string';
    if (!Array.isArray(m.words)) return 'TurnInfo: words is not a list';
    for (const [i, w] of m.words.entries()) {
      if (!isRecord(w) || typeof w.word !== 'string') return `TurnInfo: words[${i}].word is not a string`;
      if ((w.start !== undefined && !number(w.start)) || (w.end !== undefined && !number(w.end)))
        return `TurnInfo: words[${i}].start and .end must be numbers`;
    }
  }
  const notice = m.type === 'Error' || m.type === 'Warning' || m.type === 'ConfigureFailure';
  if (notice && (typeof m.code !== 'string' || typeof m.description !== 'string'))
    return `${m.type}: code and description must be strings`;
  if (m.type === 'ConfigureSuccess') {
    const t = m.thresholds;
    if (!isRecord(t) || !number(t.eot_threshold) || !number(t.eot_timeout_ms))
      return 'ConfigureSuccess: thresholds must hold eot_threshold and eot_timeout_ms as numbers';
    if (t.eager_eot_threshold !== undefined && !number(t.eager_eot_threshold))
      return 'ConfigureSuccess: thresholds.eager_eot_threshold is not a number';
    if (!Array.isArray(m.keyterms) || !m.keyterms.every((k) => typeof k === 'string'))
      return 'ConfigureSuccess: keyterms is not a list of strings';
    if (typeof m.numerals !== 'boolean') return 'ConfigureSuccess: numerals is not a boolean';
    // Kept as the session's configuration and set again after a reconnect: what Flux itself would refuse, refused here.
    const range = thresholdsProblem(t);
    if (range) return `ConfigureSuccess: ${range}`;
    if (m.keyterms.length > MAX_KEYTERMS) return `ConfigureSuccess: more than ${MAX_KEYTERMS} keyterms`;
  }
  return undefined;
}

/** A Flux message from a text frame, or why it is not one. */
export const parseFluxMessage = (text: string): { message: FluxMessage } | { problem: string } =>
  parseMessage<Exclude<FluxMessage, UnknownMessage>>(text, fluxMessageProblem, FLUX_TYPES);

export const isTurnInfo = (m: { type: string }): m is TurnInfoMessage => m.type === 'TurnInfo';
export const isEndOfTurn = (m: { type: string }): m is TurnInfoMessage => isTurnInfo(m) && m.event === 'EndOfTurn';
export const isConfigureAck = (m: { type: string }): m is ConfigureSuccessMessage | ConfigureFailureMessage =>
  m.type === 'ConfigureSuccess' || m.type === 'ConfigureFailure';
export const isFluxNotice = (m: { type: string }): m is FluxWarningMessage | FluxErrorMessage =>
  m.type === 'Warning' || m.type === 'Error';
