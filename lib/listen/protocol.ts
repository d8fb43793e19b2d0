// What a listen protocol brings to the shared link, reconnect layer and stream: its path, how its frames become
// messages, which message waits for the close code, which closes are clean, how it ends a session and keeps an
// idle one open, and how its messages sit on the timeline (for a replay). `/v1/listen` is the first; a second
// (Flux, on `/v2/listen`) is another object of this shape, with no copy of the link, the reconnect layer or the
// stream's flow control.
import { CLOSE_NORMAL, roundMicro, type MetadataMessage } from '../protocol/messages.js';

/** A close frame with no status code, as Node's ws reports it. */
const CLOSE_NO_STATUS = 1005;
import { isFinal, isMetadata, isResults, parseServerMessage } from '../protocol/guards.js';
import { rebase, repeats } from './replay.js';
import { checkQuery } from '../protocol/options.js';
import { checkFluxQuery, isEndOfTurn, isTurnInfo, parseFluxMessage, type SessionMessage } from '../protocol/flux.js';

export interface ListenProtocol {
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
  /** Audio seconds that a message makes final (the replay buffer lets go of them), or undefined. */
  finalUntil(message: SessionMessage): number | undefined;
  /** Moves a message onto the stream's timeline, in place. */
  rebase(message: SessionMessage, offset: number): void;
  /** Whether a replayed session's message only repeats what was read (one that partly does is trimmed). */
  repeats(message: SessionMessage, until: number): boolean;
}

export const LISTEN_V1: ListenProtocol = {
  path: '/v1/listen',
  parse: parseServerMessage,
  isClosing: isMetadata,
  checkQuery,
  isCleanClose: (code) => code === CLOSE_NORMAL,
  closeStream: JSON.stringify({ type: 'CloseStream' }),
  keepAlive: { text: JSON.stringify({ type: 'KeepAlive' }) },
  progress: (message) => (isResults(message) ? message.start + message.duration : undefined),
  finalUntil: (message) => (isFinal(message) ? message.start + message.duration : undefined),
  rebase,
  repeats,
};

/**
 * Flux on `/v2/listen`: WebSocket pings keep it open (a KeepAlive text is fatal there), no Metadata, and the close
 * after CloseStream has no status (1005). An EndOfTurn makes its audio final; a replayed session's turns ending by
 * the cut-off repeat what was read.
 */
export const LISTEN_FLUX: ListenProtocol = {
  path: '/v2/listen',
  parse: parseFluxMessage,
  isClosing: (message): message is MetadataMessage => false,
  checkQuery: checkFluxQuery,
  isCleanClose: (code, closeSent) => code === CLOSE_NORMAL || (code === CLOSE_NO_STATUS && closeSent),
  closeStream: JSON.stringify({ type: 'CloseStream' }),
  keepAlive: 'ping',
  progress: (message) => (isTurnInfo(message) ? message.audio_window_end : undefined),
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
};
