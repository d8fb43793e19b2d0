import { constants } from 'node:os';
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

/** The exit status of a command a signal stopped, as a shell reports it: 130 for SIGINT, 143 for SIGTERM. */
export const stoppedStatus = (signal: NodeJS.Signals) => 128 + constants.signals[signal];

/**
 * The first SIGINT or SIGTERM (or `io.stop`, taken for a Ctrl-C), which it says; a second signal exits at once, for a
 * stop that is taking too long. `dispose()` takes the handlers off again, for a command that ends by itself.
 */
export function stopRequested(io: CliIo): { stopped: Promise<NodeJS.Signals>; dispose(): void } {
  if (io.stop) return { stopped: io.stop.then(() => 'SIGINT'), dispose: () => {} };
  const again = (signal: NodeJS.Signals) => process.exit(stoppedStatus(signal));
  let first!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    first = (signal) => {
      process.off('SIGINT', first).off('SIGTERM', first);
      process.once('SIGINT', again).once('SIGTERM', again);
      resolve(signal);
    };
    process.on('SIGINT', first).on('SIGTERM', first);
  });
  const dispose = () => process.off('SIGINT', first).off('SIGTERM', first).off('SIGINT', again).off('SIGTERM', again);
  return { stopped, dispose };
}
