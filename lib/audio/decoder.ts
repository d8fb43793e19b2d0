// Anything FFmpeg reads (audio or video containers) in, raw linear16 (s16le) out, as a Duplex over runFfmpeg().
import { Duplex } from 'node:stream';
import { runFfmpeg, type FfmpegRun } from './ffmpeg.js';
import { DeepgramError } from '../listen/errors.js';

export interface DecoderOptions {
  /** Output rate in Hz. Default 16000. */
  sampleRate?: number;
  /** Output channels. Default 1. */
  channels?: number;
}

type Callback = (error?: Error | null) => void;

/** What starting FFmpeg threw (a DG_DECODE when it is missing), as a stream error. */
const failure = (error: unknown): Error =>
  error instanceof Error ? error : new DeepgramError('DG_DECODE', String(error));

/**
 * FFmpeg reading `input` (`pipe:0` for the bytes written, or a file's path) and writing linear16, with
 * backpressure both ways. Its output ends only once its exit is known: a failure is a stream error in FFmpeg's own
 * words, never an empty success.
 */
class FfmpegDecoder extends Duplex {
  readonly #args: string[];
  readonly #inputBytes: () => number;
  #ffmpeg?: FfmpegRun;
  #bytesIn = 0;

  constructor(input: string, options: DecoderOptions, inputBytes?: () => number) {
    super();
    const rate = String(options.sampleRate ?? 16000);
    const channels = String(options.channels ?? 1);
    this.#args = ['-i', input, '-vn', '-f', 's16le', '-acodec', 'pcm_s16le', '-ar', rate, '-ac', channels, 'pipe:1'];
    this.#inputBytes = inputBytes ?? (() => this.#bytesIn);
    // A file is read by FFmpeg itself at once; piped input starts FFmpeg with its first byte (or its end), so that a
    // decoder made and never used starts no process and keeps nothing alive.
    if (input !== 'pipe:0') this.#run().child.stdin.end();
  }

  #run(): FfmpegRun {
    if (this.#ffmpeg) return this.#ffmpeg;
    const ffmpeg = (this.#ffmpeg = runFfmpeg(this.#args, this.#inputBytes));
    const { stdout } = ffmpeg.child;
    stdout.on('data', (pcm: Buffer) => this.push(pcm) || stdout.pause());
    ffmpeg.outcome.then((error) => (error ? this.destroy(error) : this.push(null)));
    return ffmpeg;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.#bytesIn += chunk.length;
    let stdin;
    try {
      ({ stdin } = this.#run().child);
    } catch (error) {
      return callback(failure(error));
    }
    // Input after FFmpeg has given up is dropped: its exit says why.
    if (!stdin.writable || stdin.write(chunk)) return callback();
    const go = () => (stdin.off('drain', go), stdin.off('close', go), callback());
    stdin.once('drain', go).once('close', go);
  }

  override _final(callback: Callback): void {
    try {
      this.#run().child.stdin.end();
      callback();
    } catch (error) {
      callback(failure(error));
    }
  }

  override _read(): void {
    this.#ffmpeg?.child.stdout.resume();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#ffmpeg?.kill();
    callback(error);
  }
}

/** A decoder of `input`; `inputBytes` says how large the input is when FFmpeg reads a file itself. */
export function ffmpegDecoder(input: string, options: DecoderOptions, inputBytes?: () => number): Duplex {
  return new FfmpegDecoder(input, options, inputBytes);
}

/** Anything FFmpeg reads in, linear16 out. Input FFmpeg cannot read is a stream error with FFmpeg's own words. */
export function createDecoder(options: DecoderOptions = {}): Duplex {
  return new FfmpegDecoder('pipe:0', options);
}
