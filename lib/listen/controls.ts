// What goes out besides audio: control frames in their place among it, and KeepAlive while nothing else does.
import { startTicking, stopTicking, type Ticking } from './ticks.js';

/**
 * Control frames (Finalize, KeepAlive, Configure) queued by byte position: each goes out once the audio written
 * before it is on the socket, never ahead of it.
 */
export class ControlQueue {
  #queue: { after: number; text: string }[] = [];
  #head = 0;

  get length(): number {
    return this.#queue.length - this.#head;
  }

  /** A frame to send once `after` bytes of audio have gone out. */
  add(after: number, text: string): void {
    this.#queue.push({ after, text });
  }

  /** The frames due now that `sent` bytes have gone out, in order. */
  *due(sent: number): Generator<string> {
    while (this.#head < this.#queue.length && this.#queue[this.#head].after <= sent)
      yield this.#queue[this.#head++].text;
    if (this.#head === this.#queue.length) this.clear();
  }

  clear(): void {
    this.#queue = [];
    this.#head = 0;
  }
}

/**
 * Calls `send` at each tick of `interval` ms that follows a whole interval in which nothing else went out (`touch()`
 * says something did): so at most twice `interval` apart.
 */
export class Idle implements Ticking {
  #idle = false;
  #interval = 0;
  #send?: () => void;

  start(interval: number, send: () => void): void {
    this.stop();
    this.#interval = interval;
    this.#send = send;
    this.#idle = false; // the first tick may come at once
    startTicking(interval, this);
  }

  tick(): void {
    if (this.#idle) this.#send?.();
    this.#idle = true;
  }

  touch(): void {
    this.#idle = false;
  }

  stop(): void {
    stopTicking(this.#interval, this);
  }
}
