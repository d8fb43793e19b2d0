// A Duplex over stages chosen after it is made: bytes written go to the first stage (known early, or once the
// stages are), what the last stage gives is read. The transcriber picks its stages only once its probe has seen the
// input, so they cannot be composed up front (stream.compose); pumpify did this, but its object is no node:stream
// Duplex (readable-stream 3), so the stream helpers (`toArray()`, `map()`) and `instanceof Duplex` failed on it.
import { Duplex, pipeline, type Readable, type Writable } from 'node:stream';

type Callback = (error?: Error | null) => void;

export class Chain extends Duplex {
  #first?: Writable;
  #last?: Readable;
  #stages: Duplex[] = [];
  /** A write or the end that waits for the first stage. */
  #waiting?: () => void;

  constructor() {
    super({ readableObjectMode: true, allowHalfOpen: true });
  }

  /** Where written bytes go from now on, before the rest of the stages are known. */
  setWritable(first: Duplex): void {
    this.#first = first;
    this.#stages.push(first);
    first.on('error', (error) => this.destroy(error));
    this.#resume();
  }

  /** `last` (read from) behind `stages`, in order: joined with `pipeline()`, the first written to. */
  setPipeline(last: Duplex, ...before: Duplex[]): void {
    const stages = [...before, last];
    this.#stages.push(...stages);
    this.#first ??= stages[0];
    this.#last = last;
    if (stages.length > 1) pipeline(stages, (error) => error && this.destroy(error));
    // pipeline() is done once the last stage has taken every byte, but its readable side goes on (a listen stream
    // has results to give, and may still fail): its errors are this Duplex's from start to end.
    last.on('error', (error) => this.destroy(error));
    last.on('data', (item) => {
      if (!this.push(item)) last.pause();
    });
    last.once('end', () => this.push(null));
    this.#resume();
  }

  #resume(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: Callback): void {
    const first = this.#first;
    if (!first) return void (this.#waiting = () => this._write(chunk, encoding, callback));
    if (first.write(chunk, encoding)) callback();
    else first.once('drain', () => callback());
  }

  override _final(callback: Callback): void {
    const first = this.#first;
    if (!first) return void (this.#waiting = () => this._final(callback));
    first.end();
    callback();
  }

  override _read(): void {
    this.#last?.resume();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    for (const stage of this.#stages) stage.destroy();
    callback(error);
  }
}
