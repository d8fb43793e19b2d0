// The /v1/listen Duplex: the session stream with /v1's protocol, and its control messages.
import { SessionStream } from './stream.js';
import { LISTEN_V1 } from './protocol.js';
import type { ListenStreamOptions } from './options.js';
import type { MetadataMessage, ServerMessage } from '../protocol/messages.js';

export { DEFAULT_URL } from './connection.js';
export type { ListenStreamOptions } from './options.js';

/** A Duplex over one `/v1/listen` session; `end()` sends CloseStream after the last audio. */
export class ListenStream extends SessionStream<ServerMessage, MetadataMessage> {
  constructor(options: ListenStreamOptions = {}) {
    super(options, LISTEN_V1);
  }

  /** Asks the server to transcribe what it holds now; goes out after all audio written before it. */
  finalize(channel?: number): void {
    this.sendControl(channel === undefined ? { type: 'Finalize' } : { type: 'Finalize', channel });
  }

  keepAlive(): void {
    this.sendControl({ type: 'KeepAlive' });
  }

  /** Changes features mid-stream (Deepgram documents `numerals`). */
  configure(features: Record<string, unknown>): void {
    this.sendControl({ type: 'Configure', features });
  }
}

/** Opens a `/v1/listen` session as a Duplex. Options that can never work throw before connecting. */
export function createListenStream(options: ListenStreamOptions = {}): ListenStream {
  return new ListenStream(options);
}
