import type { Readable, Writable } from 'node:stream';

/** Where the CLI reads and writes, and what stops it: the process's own unless a caller says otherwise. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /**
   * Resolves on the first request to stop (SIGINT or SIGTERM by default): `serve` and `worker` stop gracefully,
   * `transcribe` ends its input. A second request stops at once.
   */
  stop?: Promise<void>;
}

/** The first SIGINT or SIGTERM; a second one exits at once, for a stop that is taking too long. */
export function stopRequested(io: CliIo): Promise<void> {
  return (
    io.stop ??
    new Promise<void>((resolve) => {
      const first = () => {
        process.off('SIGINT', first);
        process.off('SIGTERM', first);
        process.once('SIGINT', () => process.exit(130));
        process.once('SIGTERM', () => process.exit(143));
        resolve();
      };
      process.on('SIGINT', first);
      process.on('SIGTERM', first);
    })
  );
}
