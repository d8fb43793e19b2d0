// `/v1/speak` (speak spec §1): its query, what the client sends, what the server answers, and the guards that check
// a known message before anything reads it. The limits are the server's; the stream keeps them so it never has to
// close.
import { parseMessage } from './guards.js';
import type { UnknownMessage } from './messages.js';

export type SpeakEncoding = 'linear16' | 'mulaw' | 'alaw';

/** The `/v1/speak` query, named as Deepgram names it. */
export interface SpeakQuery {
  /** The voice, e.g. `aura-2-thalia-en`. Deepgram's default is an Aura-1 voice: set it. */
  model?: string;
  encoding?: SpeakEncoding;
  /** 8000, 16000, 24000 (default), 32000 or 48000; µ-law and A-law take 8000 (their default) or 16000. */
  sample_rate?: number;
  /** 0.7 to 1.5. */
  speed?: number;
  mip_opt_out?: boolean;
  tag?: string | string[];
}

export interface SpeakLimits {
  speakCharacters: number;
  charactersPerMinute: number;
  flushesPerMinute: number;
}

/** The server's limits (speak spec §1), kept by the stream and enforced by the local server. */
export const SPEAK_LIMITS: Readonly<SpeakLimits> = {
  /** Characters in one Speak message: past it, 1009 BIG-0001. */
  speakCharacters: 2000,
  /** Characters a minute across all Speak messages: past it, 1008 DATA-0001. */
  charactersPerMinute: 2400,
  /** Flushes a minute: past it a Warning, and flushes wait for the window. */
  flushesPerMinute: 20,
};

export type SpeakMetadataMessage = {
  type: 'Metadata';
  request_id: string;
  model_name: string;
  model_version: string;
  model_uuid: string;
  additional_model_uuids?: string[];
};

/** Every audio frame of the text before the matching Flush has been sent. */
export type FlushedMessage = { type: 'Flushed'; sequence_id: number };
export type ClearedMessage = { type: 'Cleared'; sequence_id: number };
export type SpeakWarningMessage = { type: 'Warning'; code: string; description: string };

export type SpeakMessage =
  SpeakMetadataMessage | FlushedMessage | ClearedMessage | SpeakWarningMessage | UnknownMessage;

/** What the client sends. */
export type SpeakControl = { type: 'Speak'; text: string } | { type: 'Flush' | 'Clear' | 'Close' };

const SPEAK_TYPES = ['Metadata', 'Flushed', 'Cleared', 'Warning'];
const RATES = [8000, 16000, 24000, 32000, 48000];

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Why a speak message cannot be used, or undefined; unknown types pass when they are objects with a `type`. */
export function speakMessageProblem(m: unknown): string | undefined {
  if (!isRecord(m) || typeof m.type !== 'string') return 'not an object with a string "type"';
  if ((m.type === 'Flushed' || m.type === 'Cleared') && !Number.isInteger(m.sequence_id))
    return `${m.type}: sequence_id is not a whole number`;
  if (m.type === 'Warning' && (typeof m.code !== 'string' || typeof m.description !== 'string'))
    return 'Warning: code and description must be strings';
  if (m.type === 'Metadata' && typeof m.request_id !== 'string') return 'Metadata: request_id is not a string';
  return undefined;
}

/** A speak message from a text frame, or why it is not one. */
export const parseSpeakMessage = (text: string): { message: SpeakMessage } | { problem: string } =>
  parseMessage<Exclude<SpeakMessage, UnknownMessage>>(text, speakMessageProblem, SPEAK_TYPES);

/** The audio a query asks for: its encoding, rate and bytes per sample. */
export function speakFormat(params: URLSearchParams): { encoding: SpeakEncoding; sampleRate: number; bytes: 1 | 2 } {
  const encoding = (params.get('encoding') ?? 'linear16') as SpeakEncoding;
  const sampleRate = Number(params.get('sample_rate') ?? (encoding === 'linear16' ? 24000 : 8000));
  return { encoding, sampleRate, bytes: encoding === 'linear16' ? 2 : 1 };
}

/** Why a `/v1/speak` query cannot work, or undefined: checked before anything is dialled (and by the server). */
export function checkSpeakQuery(params: URLSearchParams): string | undefined {
  const encoding = params.get('encoding') ?? 'linear16';
  if (!['linear16', 'mulaw', 'alaw'].includes(encoding))
    return `encoding=${encoding}: /v1/speak sends raw linear16, mulaw or alaw (no container, nothing compressed)`;
  const rate = params.get('sample_rate');
  if (rate !== null) {
    const allowed = encoding === 'linear16' ? RATES : [8000, 16000];
    if (!allowed.includes(Number(rate))) return `sample_rate=${rate}: ${encoding} takes ${allowed.join(', ')}`;
  }
  const speed = params.get('speed');
  if (speed !== null && !(Number(speed) >= 0.7 && Number(speed) <= 1.5)) return `speed=${speed}: 0.7 to 1.5`;
  return undefined;
}
