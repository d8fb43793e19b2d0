// What a listen protocol brings to the shared link, reconnect layer and stream: its path, how its frames become
// messages, which message waits for the close code, which closes are clean, how it ends a session and keeps an
// idle one open, and how its messages sit on the timeline (for a replay). `/v1/listen` is the first; a second
// (Flux, on `/v2/listen`) is another object of this shape, with no copy of the link, the reconnect layer or the
// stream's flow control.
import { CLOSE_NORMAL, type MetadataMessage, type ServerMessage } from '../protocol/messages.js';
import { isFinal, isMetadata, parseServerMessage } from '../protocol/guards.js';
import { rebase, repeats } from './replay.js';

export interface ListenProtocol {
  /** Path under the base URL. */
  path: string;
  /** A text frame as a valid message, or why it is not one. */
  parse(text: string): { message: ServerMessage } | { problem: string };
  /** The message held until the close code says what it means, then the stream's `metadata`. */
  isClosing(message: ServerMessage): message is MetadataMessage;
  /** Whether a close code ends the stream cleanly. */
  isCleanClose(code: number): boolean;
  /** The text frame that ends a session once the audio is sent. */
  closeStream: string;
  /** What keeps an idle session open: a text frame, or a WebSocket ping. */
  keepAlive: { text: string } | 'ping';
  /** Audio seconds that a message makes final (the replay buffer lets go of them), or undefined. */
  finalUntil(message: ServerMessage): number | undefined;
  /** Moves a message onto the stream's timeline, in place. */
  rebase(message: ServerMessage, offset: number): void;
  /** Whether a replayed session's message only repeats what was read. */
  repeats(message: ServerMessage, until: number): boolean;
}

export const LISTEN_V1: ListenProtocol = {
  path: '/v1/listen',
  parse: parseServerMessage,
  isClosing: isMetadata,
  isCleanClose: (code) => code === CLOSE_NORMAL,
  closeStream: JSON.stringify({ type: 'CloseStream' }),
  keepAlive: { text: JSON.stringify({ type: 'KeepAlive' }) },
  finalUntil: (message) => (isFinal(message) ? message.start + message.duration : undefined),
  rebase,
  repeats,
};
