// Where a stream of container audio can be cut for a replay. Each format reads the bytes as they are sent, once,
// holding only the few it needs to read a header, and reports what must be sent again before replayed audio (the
// stream's header) and the places a new connection may start from, with the time the audio there starts at.

/** A place to start again: the audio from byte `at` starts at `time` seconds of the stream's decoded timeline. */
export interface Cut {
  at: number;
  time: number;
  /** A header of this cut's own, sent instead of the stream's (MP3's tag frame, its delay set for this cut). */
  header?: () => Buffer;
}

/**
 * Seconds between the times a cut is best placed at. A recognizer reads audio in frames of 10 or 20 ms counted from
 * the start of a session: a session started on that grid reads the same frames as one that ran through, so it
 * hears the same words at the same times.
 */
export const CUT_GRID = 0.02;

/** Whether `time` is on the grid (to a microsecond). */
export const onGrid = (time: number): boolean => Math.abs(time / CUT_GRID - Math.round(time / CUT_GRID)) < 5e-5;

export interface CutEvents {
  /** Bytes before `end` are the stream's header, sent again before any replayed audio. */
  header(end: number): void;
  cut(cut: Cut): void;
}

/**
 * A format's reader. `step` looks at `bytes`, which start at stream offset `at`, and returns how many bytes it has
 * read (more than it was given: those are skipped unseen), 0 when it needs more before it can tell, or `NOT_CUT`
 * when the stream cannot be cut (a codec whose timing it cannot place exactly, or bytes that are not the format).
 */
export interface CutReader {
  step(bytes: Buffer, at: number): number;
}

export const NOT_CUT = -1;
/** The most a reader may ask to hold at once (a header element, a page header): past it the stream is not cut. */
const MOST_HELD = 1 << 20;

/** Feeds a reader the stream in order, skipping what it skips and holding only what it must see whole. */
export class CutScanner {
  #held = Buffer.alloc(0);
  /** The stream offset of `#held[0]`. */
  #at = 0;
  #skip = 0;
  /** Set once the stream is known not to be cuttable: nothing more is read. */
  failed = false;

  /**
   * @param preRoll seconds a decoder needs before a cut to give the same samples after it as a decoder that ran
   *   through (Opus: 80 ms, RFC 7845 §4.6), so a replay starts at least that long before what it must reproduce.
   */
  constructor(
    readonly reader: CutReader,
    readonly preRoll = 0,
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    let bytes = chunk;
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, bytes.length);
      this.#skip -= skipped;
      this.#at += skipped;
      bytes = bytes.subarray(skipped);
    }
    if (bytes.length === 0) return;
    let held = this.#held.length > 0 ? Buffer.concat([this.#held, bytes]) : bytes;
    for (;;) {
      const read = this.reader.step(held, this.#at);
      if (read === NOT_CUT || (read === 0 && held.length > MOST_HELD)) {
        this.failed = true;
        this.#held = Buffer.alloc(0);
        return;
      }
      if (read === 0) break;
      this.#at += Math.min(read, held.length);
      if (read >= held.length) {
        this.#skip = read - held.length;
        held = Buffer.alloc(0);
        break;
      }
      held = held.subarray(read);
    }
    // A copy: the caller's buffer may be reused once its write completes.
    this.#held = Buffer.from(held);
  }
}
