/** Audio the throttle lets through at once, as Deepgram's ingest allows a small burst. */
const BURST_SECONDS = 0.5;

/** Deepgram's ingest: audio taken at `factor` times real time from the first audio on (false: no limit). */
export class Throttle {
  readonly #factor: number | false;
  #started = 0;
  #timer?: NodeJS.Timeout;

  constructor(factor: number | false) {
    this.#factor = factor;
  }

  /** Audio arrived: the clock starts with the first. */
  audio(): void {
    if (this.#started === 0) this.#started = performance.now();
  }

  /** Milliseconds to wait before taking more, with `taken` seconds of audio taken so far. */
  wait(taken: number): number {
    if (this.#factor === false || taken === 0) return 0;
    const allowed = ((performance.now() - this.#started) / 1000) * this.#factor + BURST_SECONDS;
    return taken > allowed ? Math.ceil(((taken - allowed) / this.#factor) * 1000) : 0;
  }

  /** Runs `action` in `ms`: one timer at a time, and always the one held here, so that `stop()` clears it. */
  resumeIn(ms: number, action: () => void): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      action();
    }, ms);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
