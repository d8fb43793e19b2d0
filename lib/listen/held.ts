// The bytes held for a replay: copies, since a caller may reuse its buffer once a write completes, kept in slabs
// so that a write costs a copy and no allocation of its own; let go of from the front as finals cover them.

const SLAB = 32 * 1024;

export class HeldBytes {
  /** Slabs in order; the last is being filled. */
  #slabs: { bytes: Buffer; from: number }[] = [];
  #used = 0;
  /** Stream offsets: of the first byte held, and past the last. */
  #start = 0;
  #end = 0;

  get start(): number {
    return this.#start;
  }

  get end(): number {
    return this.#end;
  }

  /** Bytes held. */
  get size(): number {
    return this.#end - this.#start;
  }

  append(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      const last = this.#slabs[this.#slabs.length - 1];
      if (!last || this.#used === last.bytes.length) {
        const size = Math.max(SLAB, chunk.length - from);
        this.#slabs.push({ bytes: Buffer.allocUnsafeSlow(size), from: this.#end });
        this.#used = 0;
        continue;
      }
      const copied = chunk.copy(last.bytes, this.#used, from);
      this.#used += copied;
      this.#end += copied;
      from += copied;
    }
  }

  /** Lets go of the bytes before stream offset `offset`. */
  dropBefore(offset: number): void {
    this.#start = Math.min(Math.max(this.#start, offset), this.#end);
    while (this.#slabs.length > 1 && this.#slabs[1].from <= this.#start) this.#slabs.shift();
  }

  /** Everything held from stream offset `from` (at least `start`) to the end, as views of the slabs. */
  from(from = this.#start): Buffer[] {
    const views: Buffer[] = [];
    for (let i = 0; i < this.#slabs.length; i++) {
      const { bytes, from: at } = this.#slabs[i];
      const length = i === this.#slabs.length - 1 ? this.#used : bytes.length;
      if (at + length <= from) continue;
      views.push(bytes.subarray(Math.max(0, from - at), length));
    }
    return views;
  }

  clear(): void {
    this.#slabs = [];
    this.#used = 0;
    this.#start = this.#end;
  }
}
