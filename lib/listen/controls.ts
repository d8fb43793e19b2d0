// What goes out besides audio: control frames in their place among it, and KeepAlive while nothing else does.
import { startTicking, stopTicking, type Ticking } from './ticks.js';

/**
 * Control frames (Finalize, KeepAlive, Configure) queued by byte position: each goes out once the audio written
 * before it is on the socket, never ahead of it.
 */
export class ControlQueue {
  #queue: { after: number; text: string }[] = [];
  #head = 0;
  /**
   * Bytes of audio after which the next frame is due; Infinity while none waits. A field, not a getter: it is read on
   * every write, where a look into the queue's array costs a cache miss a stream.
   */
  next = Infinity;

  /** A frame to send once `after` bytes of audio have gone out (positions only grow: the head is due first). */
  add(after: number, text: string): void {
    this.#queue.push({ after, text });
    this.next = this.#queue[this.#head].after;
  }

  /** The first frame due now that `sent` bytes of audio have gone out, taken off the queue; undefined if none is. */
  shift(sent: number): string | undefined {
    if (this.next > sent) return undefined;
    const { text } = this.#queue[this.#head++];
    this.next = this.#queue[this.#head]?.after ?? Infinity;
    if (this.#head === this.#queue.length) this.clear();
    return text;
  }

  clear(): void {
    this.#queue = [];
    this.#head = 0;
    this.next = Infinity;
  }
}

/** What an idle watch asks of its stream. */
export interface IdleHost {
  /** A count of the frames that went out, any frame. */
  activity(): number;
  /** Nothing went out for a whole interval: send what keeps the session open. */
  idle(): void;
}

/**
 * Calls `idle()` at each tick of `interval` ms that follows a whole interval in which nothing went out: so at most
 * twice `interval` apart. The stream counts its frames and this reads the count on a tick, so that the writes
 * between ticks do nothing for it.
 */
export class Idle implements Ticking {
  readonly #host: IdleHost;
  #interval = 0;
  /**
   * The count at the last tick; -1 until then: the first tick may come at once, and is not a whole interval. (A small
   * integer, not NaN: V8 keeps a double field in a box of its own, one more object in every stream.)
   */
  #seen = -1;

  constructor(host: IdleHost) {
    this.#host = host;
  }

  start(interval: number): void {
    this.stop();
    this.#interval = interval;
    this.#seen = -1;
    startTicking(interval, this);
  }

  tick(): void {
    if (this.#host.activity() === this.#seen) this.#host.idle();
    this.#seen = this.#host.activity(); // read after: what `idle()` sent is not activity
  }

  stop(): void {
    stopTicking(this.#interval, this);
  }
}
