// A deadline whose verdict waits for what came meanwhile: after a long callback, the event loop runs its timers
// before it reads its sockets again, and a deadline judged then misses the answer waiting unread.

export class Deadline {
  #timer?: NodeJS.Timeout;
  #verdict?: NodeJS.Immediate;

  /**
   * `expired` runs `ms` from now, once the reads then pending are done, unless the deadline is cleared, set again or
   * refreshed first (by what those reads bring). Replaces the one before. It keeps no process alive.
   */
  set(ms: number, expired: () => void): void {
    this.clear();
    this.#timer = setTimeout(() => (this.#verdict = setImmediate(expired)), ms).unref();
  }

  /** The whole `ms` again from now, with the same `expired` (even after it lapsed, while its verdict waits). */
  refresh(): void {
    clearImmediate(this.#verdict);
    this.#timer?.refresh();
  }

  clear(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#verdict);
    this.#timer = undefined;
    this.#verdict = undefined;
  }
}
