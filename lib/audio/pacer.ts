import { Transform, type TransformCallback } from 'node:stream';

export interface PacerOptions {
  /** Bytes per second of the audio at real time. */
  bytesPerSecond: number;
  /** Multiple of real time to release at. Default 1. */
  speed?: number;
  /** Once aborted, what is held and what comes after is dropped: the input's end comes through at once. */
  stop?: AbortSignal;
}

/** Releases audio no faster than `speed` times real time, so a file plays like a live source. */
export function createPacer(options: PacerOptions): Transform {
  const perMs = (options.bytesPerSecond * (options.speed ?? 1)) / 1000;
  let started: number | undefined;
  let released = 0;
  let timer: NodeJS.Timeout | undefined;
  let waiting: TransformCallback | undefined;
  options.stop?.addEventListener('abort', () => {
    clearTimeout(timer);
    waiting?.();
    waiting = undefined;
  });
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (options.stop?.aborted) return callback();
      started ??= performance.now();
      // A chunk goes when the audio before it has had its time.
      const due = started + released / perMs - performance.now();
      released += chunk.length;
      if (due <= 0) return callback(null, chunk);
      waiting = callback;
      timer = setTimeout(() => {
        waiting = undefined;
        callback(null, chunk);
      }, due);
    },
    destroy(error, callback) {
      clearTimeout(timer);
      callback(error);
    },
  });
}
