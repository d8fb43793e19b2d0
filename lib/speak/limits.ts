// The server's speak limits kept on the client, so that the server never has to close: text cut into Speak
// messages at sentence ends, and sliding one-minute windows for characters and Flushes (a write waits, never fails).

/** A sliding window: how much was used in the last `span` ms, and how long until `amount` more fits. */
export class Window {
  readonly #limit: number;
  readonly #span: number;
  #used: { at: number; amount: number }[] = [];

  constructor(limit: number, span = 60_000) {
    this.#limit = limit;
    this.#span = span;
  }

  /** Milliseconds until `amount` fits (0: now). */
  wait(amount: number, now = performance.now()): number {
    this.#used = this.#used.filter((use) => now - use.at < this.#span);
    let total = this.#used.reduce((sum, use) => sum + use.amount, 0);
    for (const use of this.#used) {
      if (total + amount <= this.#limit) break;
      total -= use.amount;
      if (total + amount <= this.#limit) return Math.ceil(use.at + this.#span - now);
    }
    return total + amount <= this.#limit ? 0 : this.#span;
  }

  take(amount: number, now = performance.now()): void {
    this.#used.push({ at: now, amount });
  }
}

/**
 * `text` cut into pieces of at most `max` characters: at the last sentence end that fits, else at the last space,
 * and only a word longer than `max` is cut inside (never a surrogate pair).
 */
export function splitText(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const head = rest.slice(0, max);
    const sentence = Math.max(...['. ', '! ', '? ', '.\n', '!\n', '?\n'].map((end) => head.lastIndexOf(end)));
    const space = head.search(/\s\S*$/);
    let cut = sentence > 0 ? sentence + 2 : space > 0 ? space + 1 : max;
    if (cut === max && /[\uD800-\uDBFF]/.test(head[max - 1])) cut--; // keep a surrogate pair whole
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0) pieces.push(rest);
  return pieces;
}
