// What a listen protocol brings to the shared link, reconnect layer and stream: its path, how its frames become
// messages, which message waits for the close code, which closes are clean, how it ends a session and keeps an
// idle one open, how its messages sit on the timeline (for a replay), and its policy: what a session does at the
// stream's fixed points. `/v1/listen` is the first; Flux, on `/v2/listen`, is another object of this shape, with
// no copy of the link, the reconnect layer or the stream's flow control.
import { CLOSE_NORMAL, describeClose, roundMicro, type MetadataMessage } from '../protocol/messages.js';
import { isFinal, isMetadata, isResults, parseServerMessage } from '../protocol/guards.js';
import { rebase, repeats } from './replay.js';
import { checkQuery } from '../protocol/options.js';
import { FluxPolicy } from './flux-policy.js';
import {
  checkFluxQuery,
  isEndOfTurn,
  isTurnInfo,
  parseFluxMessage,
  type FluxMetadataMessage,
  type SessionMessage,
} from '../protocol/flux.js';

/** A close frame with no status code, as Node's ws reports it. */
const CLOSE_NO_STATUS = 1005;

/** What a policy may ask of its stream. */
export interface SessionHost {
  /** The session's checked query, read from where it dials (no stream keeps a copy: few policies ever ask). */
  query(): URLSearchParams;
  requestId(): string | undefined;
  /** Whether CloseStream has gone out. */
  closing(): boolean;
  /** Bytes of audio sent and their sha256 (when the policy `hashes`; else ''). */
  audio(): { bytes: number; sha256: string };
  /** Seconds of audio sent, when a raw encoding tells (undefined for a container). */
  audioSent(): number | undefined;
  /** Sends a control frame in order with the audio written before it. */
  control(message: { type: string; [field: string]: unknown }): void;
  /** The server must now progress through the audio within `ms` (re-armed by progress), else `expired` runs. */
  deadline(ms: number, expired: () => void): void;
  warn(warning: { code: string; description: string }): void;
  failed(error: Error): void;
  /** Ends the stream now, after `last`, without waiting for the server's close. */
  finish(last?: SessionMessage): void;
}

/** A session's behaviour at the stream's fixed points, one per stream; `D` is its stream's last message. */
export interface SessionPolicy<D extends SessionMessage = SessionMessage> {
  /** Whether its Metadata says the sha256 of the audio (so the stream hashes it); unset: as after a reconnect. */
  readonly hashes?: boolean;
  /** The stream, before anything is dialled; a policy that needs none has none. */
  attach?(host: SessionHost): void;
  /** A message on the stream's timeline: what to deliver (possibly changed), or undefined for none. */
  message(message: SessionMessage): SessionMessage | undefined;
  /** A drop: a new session is on its way. */
  reconnected(): void;
  /** Text frames a new session needs before the replayed audio. */
  beforeReplay(): string[];
  /** The writable side ended, its audio sent: call `close` when CloseStream may go. */
  ending(close: () => void): void;
  /** The stream's last message, from the server's Metadata (if any). */
  metadata(server: MetadataMessage | undefined): D | undefined;
  destroyed(): void;
}

/** /v1's policy: every message delivered as it comes, CloseStream straight after the audio, the server's Metadata. */
const PLAIN: SessionPolicy<MetadataMessage> = {
  message: (message) => message,
  reconnected: () => {},
  beforeReplay: () => [],
  ending: (close) => close(),
  metadata: (server) => server,
  destroyed: () => {},
};

/** What the link needs of a protocol: how a socket of it is dialled, read, kept open and closed. */
export interface SocketProtocol {
  /** Path under the base URL. */
  path: string;
  /** A text frame as a valid message, or why it is not one. */
  parse(text: string): { message: SessionMessage } | { problem: string };
  /** The message held until the close code says what it means, then the stream's `metadata`. */
  isClosing(message: SessionMessage): message is MetadataMessage;
  /** Why a query cannot work, or undefined: checked before anything is dialled. */
  checkQuery(params: URLSearchParams): string | undefined;
  /** Whether a close code ends the stream cleanly; `closeSent` once CloseStream has gone out. */
  isCleanClose(code: number, closeSent: boolean): boolean;
  /** The text frame that ends a session once the audio is sent. */
  closeStream: string;
  /** What keeps an idle session open: a text frame, or a WebSocket ping. */
  keepAlive: { text: string } | 'ping';
  /**
   * How far into the audio a message shows the server to be, or undefined: only progress moves a deadline on, so a
   * server that talks without getting anywhere still meets it.
   */
  progress(message: SessionMessage): number | undefined;
  /** Whether the server's binary frames are audio for the reader (speak); else one is a protocol error. */
  audioOut: boolean;
  /** What a close code (and its reason) means, in words for the error. */
  describeClose(code: number, reason: string): string;
}

/** A listen protocol: a socket protocol, how its messages sit on the timeline for a replay, and its policy. */
export interface ListenProtocol<D extends SessionMessage = SessionMessage> extends SocketProtocol {
  /** Audio seconds that a message makes final (the replay buffer lets go of them), or undefined. */
  finalUntil(message: SessionMessage): number | undefined;
  /** Moves a message onto the stream's timeline, in place. */
  rebase(message: SessionMessage, offset: number): void;
  /** Whether a replayed session's message only repeats what was read (one that partly does is trimmed). */
  repeats(message: SessionMessage, until: number): boolean;
  /** A new stream's policy, unless the stream brings its own. */
  policy(): SessionPolicy<D>;
}

export const LISTEN_V1: ListenProtocol<MetadataMessage> = {
  path: '/v1/listen',
  parse: parseServerMessage,
  isClosing: isMetadata,
  checkQuery,
  isCleanClose: (code) => code === CLOSE_NORMAL,
  closeStream: JSON.stringify({ type: 'CloseStream' }),
  keepAlive: { text: JSON.stringify({ type: 'KeepAlive' }) },
  progress: (message) => (isResults(message) ? message.start + message.duration : undefined),
  finalUntil: (message) => (isFinal(message) ? message.start + message.duration : undefined),
  audioOut: false,
  describeClose,
  rebase,
  repeats,
  policy: () => PLAIN,
};

/**
 * Flux on `/v2/listen`: WebSocket pings keep it open (a KeepAlive text is fatal there), no Metadata, and the close
 * after CloseStream has no status (1005). An EndOfTurn makes its audio final; a replayed session's turns ending by
 * the cut-off repeat what was read.
 */
export const LISTEN_FLUX: ListenProtocol<FluxMetadataMessage> = {
  path: '/v2/listen',
  parse: parseFluxMessage,
  isClosing: (message): message is MetadataMessage => false,
  checkQuery: checkFluxQuery,
  isCleanClose: (code, closeSent) => code === CLOSE_NORMAL || (code === CLOSE_NO_STATUS && closeSent),
  closeStream: JSON.stringify({ type: 'CloseStream' }),
  keepAlive: 'ping',
  progress: (message) => (isTurnInfo(message) ? message.audio_window_end : undefined),
  audioOut: false,
  describeClose,
  finalUntil: (message) => (isEndOfTurn(message) ? message.audio_window_end : undefined),
  rebase: (message, offset) => {
    if (!isTurnInfo(message) || offset === 0) return;
    message.audio_window_start = roundMicro(message.audio_window_start + offset);
    message.audio_window_end = roundMicro(message.audio_window_end + offset);
    for (const word of message.words) {
      if (word.start !== undefined) word.start = roundMicro(word.start + offset);
      if (word.end !== undefined) word.end = roundMicro(word.end + offset);
    }
  },
  repeats: (message, until) =>
    message.type === 'Connected' || (isTurnInfo(message) && message.audio_window_end <= until),
  policy: () => new FluxPolicy(),
};
