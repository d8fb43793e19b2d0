import prism from 'prism-media';
import { once } from 'node:events';
import { Transform, type Duplex } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import Pumpify from 'pumpify';
import { exposeFfmpegToPrism } from './ffmpeg.js';

export interface DecoderOptions {
  /** Output rate in Hz. Default 16000. */
  sampleRate?: number;
  /** Output channels. Default 1. */
  channels?: number;
}

/**
 * Anything FFmpeg reads (audio or video containers) in, raw linear16 (s16le) out, on prism-media's FFmpeg.
 * Input FFmpeg cannot read is a stream error with FFmpeg's own words.
 */
export function createDecoder(options: DecoderOptions = {}): Duplex {
  exposeFfmpegToPrism();
  const ffmpeg = new prism.FFmpeg({
    args: ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-vn', '-f', 's16le', '-acodec', 'pcm_s16le',
      '-ar', String(options.sampleRate ?? 16000), '-ac', String(options.channels ?? 1)],
  });
  const child = (ffmpeg as unknown as { process: ChildProcess }).process;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  const exited = once(child, 'close') as Promise<[number | null]>;
  // FFmpeg's output can end before its exit code is known: the end waits for the code, so that a failure
  // is an error, not an empty success.
  const exitGate = new Transform({
    transform(chunk, _encoding, callback) {
      callback(null, chunk);
    },
    flush(callback) {
      exited.then(([code]) => {
        const why = stderr.trim().split('\n').pop() || `exit code ${code}`;
        callback(code === 0 || code === null ? null : new Error(`FFmpeg could not decode the input: ${why}`));
      }, callback);
    },
  });
  return new Pumpify(ffmpeg, exitGate);
}
