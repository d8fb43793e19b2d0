// Query parameters of /v1/listen (spec §2): their types, how they go on the wire, and the one validator
// that both the client (before connecting) and the local server (at the handshake) apply.

export type Encoding =
  'linear16' | 'linear32' | 'flac' | 'alaw' | 'mulaw' | 'amr-nb' | 'amr-wb' | 'opus' | 'ogg-opus' | 'speex' | 'g729';

export const ENCODINGS: readonly Encoding[] = [
  'linear16',
  'linear32',
  'flac',
  'alaw',
  'mulaw',
  'amr-nb',
  'amr-wb',
  'opus',
  'ogg-opus',
  'speex',
  'g729',
];

/** Bytes per sample of the headerless encodings whose layout is known without decoding. */
export const RAW_SAMPLE_BYTES = { linear16: 2, linear32: 4, mulaw: 1, alaw: 1 } as const;
export type RawEncoding = keyof typeof RAW_SAMPLE_BYTES;

export function isRawEncoding(encoding: string | null): encoding is RawEncoding {
  return encoding !== null && Object.hasOwn(RAW_SAMPLE_BYTES, encoding);
}

/** How headerless audio lies in bytes: what the replay buffer cuts by, the server decodes by, progress counts by. */
export interface RawLayout {
  encoding: RawEncoding;
  sampleRate: number;
  channels: number;
  /** Bytes of one sample of one channel. */
  sampleBytes: number;
  /** Bytes of one sample of every channel: audio is cut only between blocks. */
  blockBytes: number;
  bytesPerSecond: number;
}

/** The layout of headerless audio as a query (or the transcriber's `raw`) declares it; undefined for others. */
export function rawLayout(
  declared: URLSearchParams | { encoding: string; sample_rate: number; channels?: number },
): RawLayout | undefined {
  const get = (name: 'encoding' | 'sample_rate' | 'channels') =>
    declared instanceof URLSearchParams ? (declared.get(name) ?? undefined) : declared[name];
  const encoding = String(get('encoding') ?? '');
  if (!isRawEncoding(encoding)) return undefined;
  const sampleRate = Number(get('sample_rate'));
  const channels = Number(get('channels') ?? 1);
  const sampleBytes = RAW_SAMPLE_BYTES[encoding];
  return {
    encoding,
    sampleRate,
    channels,
    sampleBytes,
    blockBytes: sampleBytes * channels,
    bytesPerSecond: sampleRate * channels * sampleBytes,
  };
}

type OneOrMany = string | string[];

/** Every streaming query parameter of `/v1/listen`. Names are Deepgram's own. */
export interface ListenQuery {
  model?: string;
  language?: string;
  version?: string;
  /** Only for raw, headerless audio; leave it out for containers (WAV, Ogg, WebM, MP3, FLAC). */
  encoding?: Encoding;
  /** Required whenever `encoding` is set. */
  sample_rate?: number;
  channels?: number;
  multichannel?: boolean;
  interim_results?: boolean;
  /** Silence in ms before `speech_final`, or `false` to turn endpointing off. */
  endpointing?: number | false;
  /** Needs `interim_results: true`. */
  utterance_end_ms?: number;
  vad_events?: boolean;
  punctuate?: boolean;
  smart_format?: boolean;
  no_delay?: boolean;
  numerals?: boolean;
  filler_words?: boolean;
  profanity_filter?: boolean;
  dictation?: boolean;
  diarize?: boolean;
  diarize_model?: string;
  redact?: boolean | OneOrMany;
  keywords?: OneOrMany;
  keyterm?: OneOrMany;
  search?: OneOrMany;
  replace?: OneOrMany;
  tag?: OneOrMany;
  extra?: OneOrMany | Record<string, string>;
  detect_entities?: boolean;
  mip_opt_out?: boolean;
  callback?: string;
  callback_method?: 'POST' | 'GET' | 'PUT' | 'DELETE';
  alternatives?: number;
  tier?: string;
  diarize_version?: string;
}

/** How each query parameter is written: a flag, one value, or a repeatable value. */
export const QUERY_PARAMS = {
  model: 'value',
  language: 'value',
  version: 'value',
  encoding: 'value',
  sample_rate: 'value',
  channels: 'value',
  multichannel: 'flag',
  interim_results: 'flag',
  endpointing: 'value',
  utterance_end_ms: 'value',
  vad_events: 'flag',
  punctuate: 'flag',
  smart_format: 'flag',
  no_delay: 'flag',
  numerals: 'flag',
  filler_words: 'flag',
  profanity_filter: 'flag',
  dictation: 'flag',
  diarize: 'flag',
  diarize_model: 'value',
  redact: 'repeatable',
  keywords: 'repeatable',
  keyterm: 'repeatable',
  search: 'repeatable',
  replace: 'repeatable',
  tag: 'repeatable',
  extra: 'repeatable',
  detect_entities: 'flag',
  mip_opt_out: 'flag',
  callback: 'value',
  callback_method: 'value',
  alternatives: 'value',
  tier: 'value',
  diarize_version: 'value',
} as const satisfies Record<keyof ListenQuery, 'flag' | 'value' | 'repeatable'>;

const BOOLEAN_PARAMS = new Set(
  Object.keys(QUERY_PARAMS).filter((k) => QUERY_PARAMS[k as keyof ListenQuery] === 'flag'),
);

/** Builds the query string; repeatable parameters go as repeated keys (`keyterm=a&keyterm=b`). */
export function toSearchParams(query: object): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) params.append(key, String(item));
    } else if (key === 'extra' && typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, string>)) params.append(key, `${k}:${v}`);
    } else {
      params.append(key, String(value));
    }
  }
  return params;
}

function isPositiveInteger(text: string): boolean {
  return /^[1-9]\d*$/.test(text);
}

/**
 * Returns why the query cannot work, phrased as how to fix it, or undefined when it can.
 * Only what Deepgram rejects or can never honour is refused.
 */
export function checkQuery(params: URLSearchParams): string | undefined {
  // One pass over what is set, not a look-up of every flag Deepgram has: every stream is checked as it is made.
  for (const [name, value] of params) {
    if (BOOLEAN_PARAMS.has(name) && value !== 'true' && value !== 'false')
      return `${name} must be true or false, not "${value}"`;
  }
  const encoding = params.get('encoding');
  const sampleRate = params.get('sample_rate');
  if (encoding !== null) {
    if (!(ENCODINGS as readonly string[]).includes(encoding)) {
      return (
        `encoding "${encoding}" is not one Deepgram knows (${ENCODINGS.join(', ')}); for containerized audio ` +
        `leave encoding out`
      );
    }
    if (sampleRate === null) {
      return (
        `encoding=${encoding} needs sample_rate: set sample_rate to the audio's rate in Hz, or leave encoding ` +
        `out for containerized audio (WAV, Ogg, WebM, MP3, FLAC)`
      );
    }
    const fixed = encoding === 'amr-nb' ? '8000' : encoding === 'amr-wb' ? '16000' : undefined;
    if (fixed !== undefined && sampleRate !== fixed) return `encoding=${encoding} takes sample_rate=${fixed}`;
  }
  if (sampleRate !== null && !isPositiveInteger(sampleRate)) {
    return `sample_rate must be a whole number of Hz, not "${sampleRate}"`;
  }
  const channels = params.get('channels');
  if (channels !== null && !(isPositiveInteger(channels) && Number(channels) <= 20)) {
    return `channels must be a whole number from 1 to 20, not "${channels}"`;
  }
  const endpointing = params.get('endpointing');
  if (endpointing !== null && endpointing !== 'false' && !/^\d+$/.test(endpointing)) {
    return `endpointing must be a number of milliseconds or false, not "${endpointing}"`;
  }
  const utteranceEnd = params.get('utterance_end_ms');
  if (utteranceEnd !== null) {
    if (!/^\d+$/.test(utteranceEnd)) return `utterance_end_ms must be a number of milliseconds, not "${utteranceEnd}"`;
    if (params.get('interim_results') !== 'true') {
      return 'utterance_end_ms needs interim_results=true: turn interim_results on, or drop utterance_end_ms';
    }
  }
  return undefined;
}
