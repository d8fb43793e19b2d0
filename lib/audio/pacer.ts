import { Transform, type TransformCallback } from 'node:stream';

export interface PacerOptions {
  /** Bytes per second of the audio at real time. */
  bytesPerSecond: number;
  /** Multiple of real time to release at. Default 1. */
  speed?: number;
}

/** Releases audio no faster than `speed` times real time, so a file plays like a live source. */
export function createPacer(options: PacerOptions): Transform {
  const perMs = (options.bytesPerSecond * (options.speed ?? 1)) / 1000;
  let started: number | undefined;
  let released = 0;
  let timer: NodeJS.Timeout | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      started ??= performance.now();
      // A chunk goes when the audio before it has had its time.
      const due = started + released / perMs - performance.now();
      released += chunk.length;
      if (due <= 0) return callback(null, chunk);
      timer = setTimeout(() => callback(null, chunk), due);
    },
    destroy(error, callback) {
      clearTimeout(timer);
      callback(error);
    },
  });
}
