// An MP4 whose index (`moov`) comes after its samples (`mdat`), as phones and FFmpeg write by default, cannot be
// decoded from a pipe: FFmpeg must seek to the end first. This stage writes the input to a temporary file (up to
// a bound), then decodes the file; the file is removed however the stream ends.
import { DeepgramError } from '../listen/errors.js';
import { mkdtempSync, rmSync, createWriteStream, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { ffmpegDecoder, type DecoderOptions } from './decoder.js';

/** Default bound on a spooled input: 2 GiB. */
export const DEFAULT_SPOOL_LIMIT = 2 * 1024 ** 3;

export interface SpoolOptions extends DecoderOptions {
  /** Bytes written to disk at most; a larger input is an error. Default 2 GiB. */
  spoolLimit?: number;
}

class SpooledDecoder extends Duplex {
  readonly #options: SpoolOptions;
  readonly #limit: number;
  #dir?: string;
  #file?: WriteStream;
  #size = 0;
  #decoder?: Duplex;

  constructor(options: SpoolOptions) {
    super();
    this.#options = options;
    this.#limit = options.spoolLimit ?? DEFAULT_SPOOL_LIMIT;
  }

  #path(): string {
    return join(this.#dir!, 'input');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      callback(
        new DeepgramError(
          'DG_INPUT',
          `this MP4 keeps its index (moov) at the end, so it is decoded from a temporary file, and it is larger ` +
            `than the ${this.#limit} bytes allowed for one: move the index to the front ` +
            '(ffmpeg -movflags +faststart) or raise spoolLimit',
        ),
      );
      return;
    }
    if (!this.#file) {
      this.#dir = mkdtempSync(join(tmpdir(), 'deepgram-stream-'));
      this.#file = createWriteStream(this.#path());
      this.#file.on('error', (error) => this.destroy(error));
    }
    if (this.#file.write(chunk)) callback();
    else this.#file.once('drain', callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#file) {
      this.push(null);
      return callback();
    }
    this.#file.end(() => {
      const decoder = ffmpegDecoder(this.#path(), this.#options, () => this.#size);
      this.#decoder = decoder;
      decoder.on('data', (pcm: Buffer) => {
        if (!this.push(pcm)) decoder.pause();
      });
      decoder.on('end', () => this.push(null));
      decoder.on('error', (error: Error) => this.destroy(error));
      callback();
    });
  }

  override _read(): void {
    this.#decoder?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#decoder?.destroy();
    this.#file?.destroy();
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    callback(error);
  }
}

/** Bytes in, linear16 out, decoding from a temporary file once the input has ended. */
export function createSpooledDecoder(options: SpoolOptions = {}): Duplex {
  return new SpooledDecoder(options);
}
