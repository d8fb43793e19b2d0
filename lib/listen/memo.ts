// Answers worked out once per distinct configuration: a call bridge makes its thousand streams with one, and checking
// its query and building its URL cost a cold process more than making the stream's objects (about 15 us a stream, and
// the optimizing compiler's time on code that runs once a stream).

/**
 * A pure function's answers by key; at most `limit` kept (the oldest goes first), the rest worked out again. Keys
 * come from strangers too (the relay's browsers choose a query): no key longer than `longest` is kept, so what this
 * holds is bounded by `limit` times `longest` whatever they send.
 */
export class Memo<T extends object | string> {
  readonly #answers = new Map<string, T>();

  constructor(
    readonly limit: number,
    readonly longest: number,
  ) {}

  /** The answer for `key`: kept, or `work()`'s, then kept. A `work()` that throws keeps nothing. */
  get(key: string, work: () => T): T {
    const kept = this.#answers.get(key);
    if (kept !== undefined) return kept;
    const answer = work();
    if (key.length > this.longest) return answer;
    const oldest = this.#answers.size >= this.limit ? this.#answers.keys().next() : undefined;
    if (oldest && !oldest.done) this.#answers.delete(oldest.value);
    this.#answers.set(key, answer);
    return answer;
  }
}
