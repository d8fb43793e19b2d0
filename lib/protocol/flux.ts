// Flux on /v2/listen (flux spec §2-§4): its messages, query parameters and Configure, with the one validator of
// each that both the client (before sending) and the local server (on receipt) apply.
import { parseJson } from './guards.js';

export const FLUX_MODELS = ['flux-general-en', 'flux-general-multi'] as const;
export const FLUX_ENCODINGS = ['linear16', 'linear32', 'mulaw', 'alaw', 'opus', 'ogg-opus'] as const;
export const FLUX_SAMPLE_RATES = [8000, 16000, 24000, 44100, 48000] as const;
export const FLUX_LANGUAGES = ['en', 'es', 'fr', 'de', 'hi', 'ru', 'pt', 'ja', 'it', 'nl'] as const;

/** Query parameters of `/v2/listen`, named as Deepgram names them. */
export interface FluxQuery {
  model?: (typeof FLUX_MODELS)[number];
  /** Headerless audio only; leave out for WAV, Ogg/Opus and WebM/Opus. */
  encoding?: (typeof FLUX_ENCODINGS)[number];
  /** One of 8000, 16000, 24000, 44100, 48000; with `encoding`. */
  sample_rate?: number;
  /** 0.5 to 1.0 (default 0.7); 1.0 leaves ending turns to `eot_timeout_ms` and ForceEndTurn. */
  eot_threshold?: number;
  /** 0.3 to 0.9, at most `eot_threshold`: turns on EagerEndOfTurn and TurnResumed. */
  eager_eot_threshold?: number;
  /** 500 to 60000 (default 5000): silence after speech that ends a turn. */
  eot_timeout_ms?: number;
  keyterm?: string | string[];
  /** `flux-general-multi` only. */
  language_hint?: string | string[];
  numerals?: boolean;
  profanity_filter?: boolean;
  redact?: 'numbers' | 'aggressive_numbers';
  mip_opt_out?: boolean;
  tag?: string | string[];
}

type Kind = 'flag' | 'value' | 'repeatable';
export const FLUX_PARAMS = {
  model: 'value',
  encoding: 'value',
  sample_rate: 'value',
  eot_threshold: 'value',
  eager_eot_threshold: 'value',
  eot_timeout_ms: 'value',
  keyterm: 'repeatable',
  language_hint: 'repeatable',
  numerals: 'flag',
  profanity_filter: 'flag',
  redact: 'value',
  mip_opt_out: 'flag',
  tag: 'repeatable',
} as const satisfies Record<keyof FluxQuery, Kind>;

export const isFluxModel = (model: unknown): boolean => FLUX_MODELS.some((m) => m === model);
/** Whether a query names a Flux model, so is Flux's. */
export const isFluxQuery = (query: { model?: unknown }): query is FluxQuery => isFluxModel(query.model);

function rangeProblem(name: string, value: unknown, min: number, max: number, whole = false): string | undefined {
  const n = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'string' && value.trim() === '') return `${name} must be a number from ${min} to ${max}`;
  if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n)))
    return `${name} must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}, not ${JSON.stringify(value)}`;
  return undefined;
}

const languageProblem = (hint: string): string | undefined =>
  FLUX_LANGUAGES.some((l) => l === hint.split('-')[0].toLowerCase())
    ? undefined
    : `language_hint "${hint}" is not one Flux knows (${FLUX_LANGUAGES.join(', ')})`;

/** Why a `/v2/listen` query cannot work, phrased as how to fix it; undefined when it can. */
export function checkFluxQuery(params: URLSearchParams): string | undefined {
  for (const name of params.keys()) {
    if (!Object.hasOwn(FLUX_PARAMS, name))
      return `${name} is not a Flux parameter (Flux takes ${Object.keys(FLUX_PARAMS).join(', ')})`;
  }
  const model = params.get('model');
  if (!isFluxModel(model)) return `model must be ${FLUX_MODELS.join(' or ')}, not ${JSON.stringify(model)}`;
  for (const [name, kind] of Object.entries(FLUX_PARAMS))
    for (const value of kind === 'flag' ? params.getAll(name) : [])
      if (value !== 'true' && value !== 'false') return `${name} must be true or false, not "${value}"`;
  const encoding = params.get('encoding');
  const rate = params.get('sample_rate');
  if (encoding !== null && !FLUX_ENCODINGS.some((e) => e === encoding))
    return `encoding "${encoding}" is not one Flux takes (${FLUX_ENCODINGS.join(', ')}); leave it out for containers`;
  if ((encoding === null) !== (rate === null))
    return encoding === null
      ? 'sample_rate describes headerless audio: give encoding too, or leave both out for containers'
      : `encoding=${encoding} needs sample_rate (${FLUX_SAMPLE_RATES.join(', ')})`;
  if (rate !== null && !FLUX_SAMPLE_RATES.some((r) => String(r) === rate))
    return `sample_rate must be one of ${FLUX_SAMPLE_RATES.join(', ')}, not "${rate}"`;
  const thresholds = thresholdsProblem({
    eot_threshold: params.get('eot_threshold') ?? undefined,
    eager_eot_threshold: params.get('eager_eot_threshold') ?? undefined,
    eot_timeout_ms: params.get('eot_timeout_ms') ?? undefined,
  });
  if (thresholds) return thresholds;
  const hints = params.getAll('language_hint');
  if (hints.length > 0 && model !== 'flux-general-multi')
    return `language_hint is not supported for model ${model}: use flux-general-multi, or leave it out`;
  for (const hint of hints) if (languageProblem(hint)) return languageProblem(hint);
  const redact = params.get('redact');
  if (redact !== null && redact !== 'numbers' && redact !== 'aggressive_numbers')
    return `redact must be numbers or aggressive_numbers, not "${redact}"`;
  return undefined;
}

export type FluxThresholds = {
  eot_threshold?: number;
  eager_eot_threshold?: number;
  eot_timeout_ms?: number;
};

function thresholdsProblem(given: { [K in keyof FluxThresholds]?: unknown }): string | undefined {
  const { eot_threshold: eot, eager_eot_threshold: eager, eot_timeout_ms: timeout } = given;
  return (
    (eot !== undefined ? rangeProblem('eot_threshold', eot, 0.5, 1) : undefined) ??
    (eager !== undefined ? rangeProblem('eager_eot_threshold', eager, 0.3, 0.9) : undefined) ??
    (timeout !== undefined ? rangeProblem('eot_timeout_ms', timeout, 500, 60000, true) : undefined) ??
    (eager !== undefined && Number(eager) > Number(eot ?? 0.7)
      ? `eager_eot_threshold (${eager}) must be at most eot_threshold (${eot ?? '0.7, its default'})`
      : undefined)
  );
}

/** `Configure` (flux spec §3.1): every field but `type` optional; omitted fields keep their value. */
export type FluxConfigure = {
  type: 'Configure';
  thresholds?: FluxThresholds;
  /** Replaces the whole list; `[]` clears it. At most 100. */
  keyterms?: string[];
  /** `flux-general-multi` only: replaces the hints; `[]` clears them. */
  language_hints?: string[];
  numerals?: boolean;
};

/** The configuration a session runs with: what ConfigureSuccess echoes in full. */
export type FluxConfig = {
  thresholds: Required<Pick<FluxThresholds, 'eot_threshold' | 'eot_timeout_ms'>> &
    Pick<FluxThresholds, 'eager_eot_threshold'>;
  keyterms: string[];
  language_hints?: string[];
  numerals: boolean;
};

/**
 * A Configure applied to `config`: the new configuration, or why it was refused. `fatal` is a message that is not
 * a Configure at all (an unknown field, a wrong JSON type), which ends a Flux session; the rest is ConfigureFailure.
 */
export function applyConfigure(
  config: FluxConfig,
  message: Record<string, unknown>,
  multi: boolean,
): { config: FluxConfig } | { fatal: string } | { code: string; description: string } {
  const unknown = Object.keys(message).find(
    (k) => !['type', 'thresholds', 'keyterms', 'language_hints', 'numerals'].includes(k),
  );
  if (unknown) return { fatal: `unknown field \`${unknown}\`` };
  const { thresholds = {}, keyterms, language_hints: hints, numerals } = message;
  const list = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((s) => typeof s === 'string'));
  if (typeof thresholds !== 'object' || thresholds === null || !list(keyterms) || !list(hints ?? undefined))
    return { fatal: 'invalid type' };
  if (numerals !== undefined && typeof numerals !== 'boolean') return { fatal: 'numerals is not a boolean' };
  const next = { ...config.thresholds, ...(thresholds as FluxThresholds) };
  const problem = thresholdsProblem(next);
  if (problem) return { code: 'INVALID_THRESHOLD', description: problem };
  if (Array.isArray(keyterms) && keyterms.length > 100)
    return { code: 'INVALID_KEYTERMS', description: `at most 100 keyterms, not ${keyterms.length}` };
  if (Array.isArray(hints) && !multi)
    return { code: 'INVALID_LANGUAGE_HINTS', description: 'language_hints need the model flux-general-multi' };
  const badHint = Array.isArray(hints) ? hints.map(languageProblem).find(Boolean) : undefined;
  if (badHint) return { code: 'INVALID_LANGUAGE_HINTS', description: badHint };
  return {
    config: {
      thresholds: next,
      keyterms: (keyterms as string[] | undefined) ?? config.keyterms,
      ...(multi ? { language_hints: (hints as string[] | null | undefined) ?? config.language_hints ?? [] } : {}),
      numerals: numerals ?? config.numerals,
    },
  };
}

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
  /** Bytes of audio sent, and their sha256. */
  bytes: number;
  sha256: string;
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
  | { type: string; [field: string]: unknown };

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const number = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** Why a Flux message cannot be used, or undefined; unknown types pass when they are objects with a `type`. */
export function fluxMessageProblem(m: unknown): string | undefined {
  if (!isRecord(m) || typeof m.type !== 'string') return 'not an object with a string "type"';
  if (m.type === 'TurnInfo') {
    if (typeof m.event !== 'string') return 'TurnInfo: event is not a string';
    if (!number(m.turn_index)) return 'TurnInfo: turn_index is not a number';
    if (!number(m.audio_window_start) || !number(m.audio_window_end))
      return 'TurnInfo: audio_window_start and audio_window_end must be numbers';
    if (typeof m.transcript !== 'string') return 'TurnInfo: transcript is not a string';
    if (!Array.isArray(m.words)) return 'TurnInfo: words is not a list';
    for (const [i, w] of m.words.entries()) {
      if (!isRecord(w) || typeof w.word !== 'string') return `TurnInfo: words[${i}].word is not a string`;
      if ((w.start !== undefined && !number(w.start)) || (w.end !== undefined && !number(w.end)))
        return `TurnInfo: words[${i}].start and .end must be numbers`;
    }
  }
  if ((m.type === 'Error' || m.type === 'Warning') && (typeof m.code !== 'string' || typeof m.description !== 'string'))
    return `${m.type}: code and description must be strings`;
  return undefined;
}

/** A Flux message from a text frame, or why it is not one. */
export function parseFluxMessage(text: string): { message: FluxMessage } | { problem: string } {
  const json = parseJson(text);
  if (!json) return { problem: 'not JSON' };
  const problem = fluxMessageProblem(json.value);
  return problem ? { problem } : { message: json.value as FluxMessage };
}

export const isTurnInfo = (m: { type: string }): m is TurnInfoMessage => m.type === 'TurnInfo';
export const isEndOfTurn = (m: { type: string }): m is TurnInfoMessage => isTurnInfo(m) && m.event === 'EndOfTurn';
export const isConfigureAck = (m: { type: string }): m is ConfigureSuccessMessage | ConfigureFailureMessage =>
  m.type === 'ConfigureSuccess' || m.type === 'ConfigureFailure';
export const isFluxNotice = (m: { type: string }): m is FluxWarningMessage | FluxErrorMessage =>
  m.type === 'Warning' || m.type === 'Error';
