import type { MetadataMessage } from '../protocol/messages.js';
import type { FluxMetadataMessage } from '../protocol/flux.js';

export type DeepgramErrorCode =
  | 'DG_OPTIONS' // the options can never work; nothing was sent
  | 'DG_HANDSHAKE' // the server refused the upgrade (HTTP status, dg-error, body)
  | 'DG_CLOSE' // the server closed with a code other than 1000
  | 'DG_CONNECT_TIMEOUT'
  | 'DG_CLOSE_TIMEOUT' // CloseStream went out and the server never closed
  | 'DG_TIMEOUT' // the connection went quiet: no frame and no pong within liveness.timeout
  | 'DG_PROTOCOL' // the server sent something that is not a JSON message
  | 'DG_CLOSED' // used after the socket closed
  | 'DG_SERVER' // Flux sent a fatal Error message (its code in dgError)
  | 'DG_NO_AUDIO' // the input was empty, or held no audio: never an empty success
  | 'DG_INPUT' // the input cannot be used as it is (missing, too long to measure, too large to spool); `cause`
  | 'DG_DECODE' // FFmpeg is missing, could not decode the input, or decoded no audio from it
  | 'DG_FETCH' // an input URL answered an error (`status`) or could not be reached (`cause`)
  | 'DG_CONNECT' // the network failed under the socket (refused, reset, unreachable); `cause` holds the system error
  | 'DG_QUEUE'; // the queue's Redis cannot be reached

/** The one error type of this library; `code` says which failure it is, the other fields what a person needs. */
export class DeepgramError extends Error {
  readonly code: DeepgramErrorCode;
  /** HTTP status of a refused handshake. */
  status?: number;
  /** `dg-error` header of a refused handshake. */
  dgError?: string;
  /** `dg-request-id` of the session or the refused handshake: quote it to Deepgram support. */
  requestId?: string;
  /** Body of a refused handshake (at most 64 KiB). */
  body?: string;
  closeCode?: number;
  closeReason?: string;
  /** The Metadata the server sent before an abnormal close, if any. */
  metadata?: MetadataMessage | FluxMetadataMessage;
  /** The text of a frame that was not a JSON message. */
  raw?: string;

  constructor(code: DeepgramErrorCode, message: string, fields: Partial<DeepgramError> & { cause?: unknown } = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'DeepgramError';
    this.code = code;
    Object.assign(this, fields);
  }
}
