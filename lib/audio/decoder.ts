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

/** Counts the bytes that pass. */
function counter(count: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      count(chunk.length);
      callback(null, chunk);
    },
  });
}

/**
 * FFmpeg reading `input` (`pipe:0` for the bytes written, or a file's path) and writing linear16. Its output ends
 * only once its exit is known: a failed exit, or no audio at all from input that was not empty (FFmpeg exits 0 on
 * an MP4 it cannot seek in), is a stream error in FFmpeg's own words, never an empty success.
 */
export function ffmpegDecoder(input: string, options: DecoderOptions, inputBytes: () => number): Duplex {
  exposeFfmpegToPrism();
  const ffmpeg = new prism.FFmpeg({
    args: [
      '-hide_banner',
      '-loglevel',
      'warning',
      '-nostdin',
      '-i',
      input,
      '-vn',
      '-f',
      's16le',
      '-acodec',
      'pcm_s16le',
      '-ar',
      String(options.sampleRate ?? 16000),
      '-ac',
      String(options.channels ?? 1),
    ],
  });
  const child = (ffmpeg as unknown as { process: ChildProcess }).process;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  const exited = once(child, 'close') as Promise<[number | null]>;
  let bytesOut = 0;
  const exitGate = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytesOut += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      exited.then(([code]) => {
        const words = [
          ...new Set(
            stderr
              .trim()
              .split('\n')
              .map((l) => l.trim())
              .filter(Boolean),
          ),
        ]
          .slice(-2)
          .join('; ');
        if (code !== 0 && code !== null)
          callback(new Error(`FFmpeg could not decode the input: ${words || `exit code ${code}`}`));
        else if (bytesOut === 0 && inputBytes() > 0) {
          callback(
            new Error(`FFmpeg decoded no audio from ${inputBytes()} bytes of input: ${words || 'it said nothing'}`),
          );
        } else callback();
      }, callback);
    },
  });
  if (input !== 'pipe:0') ffmpeg.end();
  return new Pumpify(ffmpeg, exitGate);
}

/**
 * Anything FFmpeg reads (audio or video containers) in, raw linear16 (s16le) out, on prism-media's FFmpeg.
 * Input FFmpeg cannot read is a stream error with FFmpeg's own words.
 */
export function createDecoder(options: DecoderOptions = {}): Duplex {
  let bytesIn = 0;
  return new Pumpify(
    counter((n) => (bytesIn += n)),
    ffmpegDecoder('pipe:0', options, () => bytesIn),
  );
}
