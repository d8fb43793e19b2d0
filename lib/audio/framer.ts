import { DeepgramError } from '../listen/errors.js';
import { Transform, type TransformCallback } from 'node:stream';

export interface FramerOptions {
  /** Milliseconds of audio per frame. Default 100 (Deepgram advises 20 to 250). */
  frameMs?: number;
  /** Bytes per second of the audio, which turns milliseconds into bytes. */
  bytesPerSecond?: number;
  /** Frame size in bytes, for audio whose byte rate is unknown (compressed containers). */
  frameBytes?: number;
}

/** Bytes per second of raw PCM. */
export const pcmByteRate = (sampleRate: number, channels: number, bytesPerSample = 2): number =>
  sampleRate * channels * bytesPerSample;

/** Re-chunks bytes into frames of one size; the last frame carries what is left. */
export function createFramer(options: FramerOptions): Transform {
  const size =
    options.frameBytes ??
    Math.round(((options.bytesPerSecond ?? pcmByteRate(16000, 1)) * (options.frameMs ?? 100)) / 1000);
  if (!(size > 0)) throw new DeepgramError('DG_OPTIONS', 'a frame must be at least one byte');
  let pending: Buffer[] = [];
  let held = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      held += chunk.length;
      if (held >= size) {
        let all = Buffer.concat(pending);
        while (all.length >= size) {
          this.push(all.subarray(0, size));
          all = all.subarray(size);
        }
        pending = all.length > 0 ? [all] : [];
        held = all.length;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      callback(null, held > 0 ? Buffer.concat(pending) : undefined);
    },
  });
}
