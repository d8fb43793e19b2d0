// The reconnect layer: what a new connection needs after a drop. It owns the audio not yet covered by finals,
// the offset of the new session on the stream's timeline, the cut-off for what the new
// session repeats, the count of attempts and the backoff between them.
import { backoffDelay, retryableClose } from './retry.js';
import { ReplayBuffer } from './replay.js';
import type { ListenProtocol } from './protocol.js';
import { roundMicro, type MetadataMessage } from '../protocol/messages.js';
import type { SessionMessage } from '../protocol/flux.js';

export interface ReconnectOptions {
  /** Reconnects tried in a row before giving up; a connection that delivers a new final resets the count. */
  attempts: number;
  /** Exponential backoff with full jitter: a delay up to `initial * 2^(n-1)`, at most `max` (ms). */
  backoff?: { initial?: number; max?: number };
  /**
   * Bytes of audio not yet covered by finals held for a replay. Past it the held audio is let go and a later drop
   * is an error (a reconnect would leave a gap). Default 64 MiB.
   */
  replayLimit?: number;
}

/** What the `reconnect` event tells. */
export interface ReconnectEvent {
  attempt: number;
  /** The close that caused it. */
  code: number;
  reason: string;
  /** Milliseconds waited before dialling again. */
  delay: number;
}

export class Reconnect {
  readonly #attempts: number;
  readonly #initial: number;
  readonly #max: number;
  readonly #replay: ReplayBuffer;
  readonly #protocol: ListenProtocol;
  #attempt = 0;
  #reconnects = 0;
  #offset = 0;
  #duplicatesUntil = 0;

  constructor(options: ReconnectOptions, query: URLSearchParams, protocol: ListenProtocol) {
    this.#protocol = protocol;
    this.#attempts = options.attempts;
    this.#initial = options.backoff?.initial ?? 250;
    this.#max = options.backoff?.max ?? 5000;
    this.#replay = new ReplayBuffer(query, options.replayLimit);
  }

  /** Audio that went out: kept for a replay. */
  sent(chunk: Buffer): void {
    this.#replay.add(chunk);
  }

  /** A message of the current session on the stream's timeline, or undefined when it repeats what was read. */
  receive(message: SessionMessage): SessionMessage | undefined {
    this.#protocol.rebase(message, this.#offset);
    if (this.#duplicatesUntil > 0 && this.#protocol.repeats(message, this.#duplicatesUntil)) return undefined;
    const final = this.#protocol.finalUntil(message);
    if (final !== undefined) {
      // Only progress resets the count: a server that answers and then drops every time still exhausts it.
      this.#attempt = 0;
      this.#replay.cover(final);
    }
    return message;
  }

  /** Why this close cannot be reconnected ('' when it may be): 1008, a replay buffer let go, or attempts spent. */
  refusal(code: number): string | undefined {
    if (!retryableClose(code)) return '';
    if (this.#replay.overflow)
      return ` and no reconnect was made (${this.#replay.overflow}; see reconnect.replayLimit)`;
    if (this.#attempt >= this.#attempts) return ` and ${this.#attempts} reconnects failed`;
    return undefined;
  }

  /** Counts the next attempt; its number and the delay before it. */
  next(): { attempt: number; delay: number } {
    this.#attempt++;
    this.#reconnects++;
    return { attempt: this.#attempt, delay: Math.round(backoffDelay(this.#attempt, this.#initial, this.#max)) };
  }

  /** The audio to send first on the new connection; its timeline starts where that audio does. */
  replay(): Buffer[] {
    const { chunks, offset, duplicatesUntil } = this.#replay.replay();
    this.#offset = offset;
    this.#duplicatesUntil = duplicatesUntil;
    return chunks;
  }

  /** The last session's Metadata made to cover the whole stream: its duration from the start, `sha256` of all. */
  finish(metadata: MetadataMessage, sha256: () => string): MetadataMessage {
    if (this.#reconnects === 0) return metadata;
    return { ...metadata, duration: roundMicro(metadata.duration + this.#offset), sha256: sha256() };
  }
}
