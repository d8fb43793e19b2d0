// What goes out besides audio: control frames in their place among it, and KeepAlive while nothing else does.

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

/** Calls `send` every `interval` ms in which nothing else went out (`touch()` says something did). */
export class Idle {
  #idle = true;
  #send?: () => void;
  #timer?: NodeJS.Timeout;

  start(interval: number, send: () => void): void {
    this.stop();
    this.#send = send;
    this.#timer = setInterval(Idle.#tick, interval, this).unref();
  }

  /** One tick shared by every stream's timer (a thousand streams make no thousand closures). */
  static #tick(idle: Idle): void {
    if (idle.#idle) idle.#send?.();
    idle.#idle = true;
  }

  touch(): void {
    this.#idle = false;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
