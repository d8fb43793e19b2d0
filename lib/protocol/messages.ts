// Message shapes of Deepgram's live /v1/listen socket (spec §3 and §4).

export interface Word {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word?: string;
  speaker?: number;
  language?: string;
}

export interface Alternative {
  transcript: string;
  confidence: number;
  words: Word[];
  languages?: string[];
}

export interface ModelInfo {
  name: string;
  version: string;
  arch: string;
}

export interface Entity {
  label: string;
  value: string;
  raw_value?: string;
  confidence: number;
  start_word: number;
  end_word: number;
}

export interface ResultsMessage {
  type: 'Results';
  /** `[channel, total_channels]` */
  channel_index: [number, number];
  duration: number;
  start: number;
  is_final: boolean;
  speech_final: boolean;
  channel: { alternatives: Alternative[] };
  metadata: {
    request_id: string;
    model_info: ModelInfo;
    model_uuid: string;
    extra?: Record<string, string>;
  };
  from_finalize: boolean;
  entities?: Entity[];
}

export interface MetadataMessage {
  type: 'Metadata';
  transaction_key: string;
  request_id: string;
  /** SHA-256 of the audio bytes received, or `"incomplete"` when the server ended the session. */
  sha256: string;
  created: string;
  duration: number;
  channels: number;
  models?: string[];
  model_info?: Record<string, ModelInfo>;
  extra?: Record<string, string>;
  warnings?: unknown[];
}

export interface SpeechStartedMessage {
  type: 'SpeechStarted';
  channel: [number, number];
  timestamp: number;
}

export interface UtteranceEndMessage {
  type: 'UtteranceEnd';
  channel: [number, number];
  last_word_end: number;
}

export interface ErrorMessage {
  type: 'Error';
  variant?: string;
  code?: string;
  description: string;
  message?: string;
}

/**
 * A message of a type this version does not know: delivered, never dropped, as it came in `message`. Wrapped so
 * that the union stays closed: `m.type === 'Results'` then narrows `m` to ResultsMessage, which a catch-all
 * `{ type: string }` member would prevent (it could be 'Results' too).
 */
export interface UnknownMessage {
  type: 'Unknown';
  message: { type: string; [field: string]: unknown };
}

export type KnownServerMessage =
  ResultsMessage | MetadataMessage | SpeechStartedMessage | UtteranceEndMessage | ErrorMessage;

export type ServerMessage = KnownServerMessage | UnknownMessage;

/** The types of `/v1/listen` messages this version knows. */
export const SERVER_TYPES = ['Results', 'Metadata', 'SpeechStarted', 'UtteranceEnd', 'Error'];

export type ControlMessage =
  | { type: 'KeepAlive' }
  | { type: 'Finalize'; channel?: number }
  | { type: 'CloseStream' }
  | { type: 'Configure'; features: Record<string, unknown> };

/** The text types the server accepts, in the order its own error text lists them. */
export const CONTROL_TYPES = ['CloseStream', 'Configure', 'Sync', 'KeepAlive', 'Finalize'] as const;

/** Six decimal places: how precisely times, durations and confidences are written into messages here. */
export const roundMicro = (value: number): number => Math.round(value * 1e6) / 1e6;

export const CLOSE_NORMAL = 1000;
export const CLOSE_DATA_ERROR = 1008;
export const CLOSE_NET_ERROR = 1011;

export const NET0000_REASON =
  'Deepgram did not provide a response message within the timeout window. See https://dpgr.am/net0000';
export const NET0001_REASON =
  'Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001';
export const DATA0000_REASON = 'DATA-0000';

/** What a close code means, in Deepgram's terms, for error messages. */
export function describeClose(code: number, reason: string): string {
  if (code === CLOSE_DATA_ERROR) {
    return (
      'DATA-0000: the audio could not be decoded; check encoding, sample_rate and channels, or send a ' +
      'container Deepgram reads'
    );
  }
  if (code === CLOSE_NET_ERROR && reason.includes('net0001')) {
    return 'NET-0001: no audio or text message reached Deepgram within the timeout window; send audio or KeepAlive';
  }
  if (code === CLOSE_NET_ERROR) {
    return (
      'NET-0000: Deepgram produced no response within the timeout window (internal fault, or too little ' +
      'decodable audio)'
    );
  }
  if (code === 1006) return 'the connection dropped without a close frame';
  if (code === 1009) return 'a frame was larger than the server accepts';
  return 'unexpected close';
}
