import type { Readable, Writable } from 'node:stream';

/** Where the CLI reads and writes, and what stops it: the process's own unless a caller says otherwise. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /**
   * Resolves on the first request to stop (SIGINT or SIGTERM by default): `serve` and `worker` stop gracefully,
   * `transcribe` ends its input. A second request stops at once.
   */
  stop?: Promise<void>;
}

/**
 * The first SIGINT or SIGTERM (or `io.stop`); a second signal exits at once, for a stop that is taking too long.
 * `dispose()` takes the handlers off again, for a command that ends by itself.
 */
export function stopRequested(io: CliIo): { stopped: Promise<void>; dispose(): void } {
  if (io.stop) return { stopped: io.stop, dispose: () => {} };
  const again = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
  let first!: () => void;
  const stopped = new Promise<void>((resolve) => {
    first = () => {
      process.off('SIGINT', first).off('SIGTERM', first);
      process.once('SIGINT', again).once('SIGTERM', again);
      resolve();
    };
    process.on('SIGINT', first).on('SIGTERM', first);
  });
  const dispose = () => process.off('SIGINT', first).off('SIGTERM', first).off('SIGINT', again).off('SIGTERM', again);
  return { stopped, dispose };
}
