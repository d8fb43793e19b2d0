// The local Deepgram-compatible server, /v1/listen, Flux's /v2/listen and /v1/speak: in this process, or spread over
// worker processes (workers.ts). The handshake and the sessions are handler.ts's.
import type { IncomingMessage } from 'node:http';
import { availableParallelism } from 'node:os';
import type { SessionReport } from './dialect.js';
import type { Faults } from './faults.js';
import type { SpeakServerOptions } from './speak.js';
import { counter, createHandler, listen, MAX_CONNECTIONS } from './handler.js';

export type { Faults } from './faults.js';
export type { SessionReport } from './dialect.js';
export type { SpeakServerOptions } from './speak.js';

export interface ServerOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Keys (or tokens) that may connect; 401 for any other. Unset: anything, even no key, is let in. */
  apiKey?: string | string[];
  /** Connections at once before the handshake answers 429. Default 1000. */
  maxConnections?: number;
  /** Largest frame taken, in bytes; a larger one closes that connection with 1009. Default 8 MiB. */
  maxPayload?: number;
  /** Audio seconds ingested per wall second, as Deepgram's 1.25; false for as fast as it comes. Default 1.25. */
  realtimeFactor?: number | false;
  /**
   * Milliseconds without a frame before the 1011 NET-0001 close (not counted while the server holds the socket).
   * Default 12000 on /v1; 60000 on Flux's /v2, where pings count as frames.
   */
  inactivityTimeout?: number;
  /** Milliseconds after CloseStream by which a session has closed (1011 NET-0000 if still busy). Default 60000. */
  closeDeadline?: number;
  /**
   * The words the transcripts say, in order (restarting with each connection): a text, or a function of the
   * request. Default: words from a fixed list, each chosen by its own audio, so replayed audio says the same.
   */
  script?: string | ((request: IncomingMessage) => string | undefined);
  /** Faults for every connection, or chosen per connection (`index` counts connections from 0). */
  faults?: Faults | ((connection: { index: number; request: IncomingMessage }) => Faults | undefined);
  /** Told of every listen session once its socket has closed: its path, request id, audio bytes and close code. */
  onSession?: (report: SessionReport) => void;
  /** /v1/speak's knobs: time to first byte, the longest session, the limits. */
  speak?: SpeakServerOptions;
  /**
   * Worker processes to spread sessions over (one per core is a good number); default 0, every session in this
   * process. With workers, this process accepts each connection and hands it to a worker in turn; `maxConnections`
   * holds for them all, `onSession` is called here, and `script` and `faults` must be data, not functions. At most
   * `maxWorkers()`.
   */
  workers?: number;
  /** Node's flags for the worker processes; default this process's own (`process.execArgv`), as `fork()` does. */
  workerExecArgv?: string[];
}

export interface LocalServer {
  /** Base URL to give the client, e.g. `ws://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** Open sessions now. */
  readonly connections: number;
  close(): Promise<void>;
}

/** The most workers startServer() starts: four per core (past one per core they only share the cores). */
export const maxWorkers = (): number => 4 * availableParallelism();

export async function startServer(options: ServerOptions = {}): Promise<LocalServer> {
  if (options.workers !== undefined && options.workers !== 0) {
    return (await import('./workers.js')).startWorkers(options);
  }
  const slots = counter(options.maxConnections ?? MAX_CONNECTIONS);
  const handler = createHandler(options, slots);
  return listen(handler.http, options, () => slots.held, handler.close);
}
