// Flux's query parameters and Configure (flux spec §2, §3.1), with the one validator of each that both the client
// (before sending) and the local server (on receipt) apply.
/** Flux's end-of-turn threshold when the query sets none. */
const DEFAULT_EOT = 0.7;

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

const KINDS: ReadonlyMap<string, Kind> = new Map(Object.entries(FLUX_PARAMS));

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
  // One pass over the parameters: every stream is checked as it is made, a thousand at once in a call bridge.
  for (const [name, value] of params) {
    const kind = KINDS.get(name);
    if (kind === undefined) return `${name} is not a Flux parameter (Flux takes ${[...KINDS.keys()].join(', ')})`;
    if (kind === 'flag' && value !== 'true' && value !== 'false')
      return `${name} must be true or false, not "${value}"`;
  }
  const model = params.get('model');
  if (!isFluxModel(model)) return `model must be ${FLUX_MODELS.join(' or ')}, not ${JSON.stringify(model)}`;
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

const THRESHOLD_KEYS = ['eot_threshold', 'eager_eot_threshold', 'eot_timeout_ms'];

/** The most keyterms a Configure sets (flux spec §3.1). */
export const MAX_KEYTERMS = 100;

export function thresholdsProblem(given: { [K in keyof FluxThresholds]?: unknown }): string | undefined {
  const { eot_threshold: eot, eager_eot_threshold: eager, eot_timeout_ms: timeout } = given;
  return (
    (eot !== undefined ? rangeProblem('eot_threshold', eot, 0.5, 1) : undefined) ??
    (eager !== undefined ? rangeProblem('eager_eot_threshold', eager, 0.3, 0.9) : undefined) ??
    (timeout !== undefined ? rangeProblem('eot_timeout_ms', timeout, 500, 60000, true) : undefined) ??
    (eager !== undefined && Number(eager) > Number(eot ?? DEFAULT_EOT)
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

/** The configuration a session starts with: what its query sets, Flux's defaults for the rest. */
export function configOf(params: URLSearchParams): FluxConfig {
  const number = (name: string) => (params.has(name) ? Number(params.get(name)) : undefined);
  const eager = number('eager_eot_threshold');
  return {
    thresholds: {
      eot_threshold: number('eot_threshold') ?? DEFAULT_EOT,
      eot_timeout_ms: number('eot_timeout_ms') ?? 5000,
      ...(eager === undefined ? {} : { eager_eot_threshold: eager }),
    },
    keyterms: params.getAll('keyterm'),
    ...(params.get('model') === 'flux-general-multi' ? { language_hints: params.getAll('language_hint') } : {}),
    numerals: params.get('numerals') === 'true',
  };
}

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
  // Kept and echoed, an unknown key would grow every later acknowledgement (and the work of every Configure).
  const unknownThreshold = Object.keys(thresholds).find((k) => !THRESHOLD_KEYS.includes(k));
  if (unknownThreshold !== undefined)
    return { fatal: `unknown field \`${unknownThreshold.slice(0, 64)}\` in thresholds` };
  if (numerals !== undefined && typeof numerals !== 'boolean') return { fatal: 'numerals is not a boolean' };
  const next = { ...config.thresholds, ...(thresholds as FluxThresholds) };
  const problem = thresholdsProblem(next);
  if (problem) return { code: 'INVALID_THRESHOLD', description: problem };
  if (Array.isArray(keyterms) && keyterms.length > MAX_KEYTERMS)
    return { code: 'INVALID_KEYTERMS', description: `at most ${MAX_KEYTERMS} keyterms, not ${keyterms.length}` };
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
