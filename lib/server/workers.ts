// startServer({ workers }): sessions spread over worker processes. This process listens, and hands each connection,
// unread, to the next worker, keeping its own copy until the worker says it has it; a worker asks it for a session's
// slot (the limit is one for all of them) and tells it of every session that ends. A worker that dies is replaced;
// its slots are given back, and the connections it never got go to another.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { extname } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { SessionReport } from './dialect.js';
import { listen, MAX_CONNECTIONS } from './handler.js';
import { socketBound } from './strangers.js';
import { maxWorkers, type LocalServer, type ServerOptions } from './index.js';

/** What crosses to a worker: every option but those that stay here (`maxConnections` bounds its sockets there). */
export type WorkerOptions = Omit<ServerOptions, 'onSession' | 'workers' | 'workerExecArgv' | 'port' | 'host'>;

export type ToWorker =
  | { type: 'start'; options: WorkerOptions; worker: number }
  | { type: 'socket'; id: number }
  | { type: 'took'; id: number; ok: boolean }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'got'; id: number }
  | { type: 'take'; id: number }
  | { type: 'give' }
  | { type: 'session'; report: SessionReport };

// worker.js beside this file once built; worker.ts while this runs as TypeScript (the tests, which fork it with
// their own loader: a fork inherits execArgv).
const ENTRY = fileURLToPath(new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
/** How long a worker has to end its sessions at close() before it is killed. */
const CLOSE_GRACE_MS = 5000;

export async function startWorkers(options: ServerOptions): Promise<LocalServer> {
  const {
    onSession,
    workers: count = 0,
    workerExecArgv,
    port,
    host,
    maxConnections = MAX_CONNECTIONS,
    ...rest
  } = options;
  if (typeof rest.script === 'function' || typeof rest.faults === 'function') {
    throw new TypeError('startServer: with workers, script and faults must be data: a function cannot cross processes');
  }
  if (!Number.isInteger(count) || count < 1 || count > maxWorkers())
    throw new RangeError(`startServer: workers must be a whole number from 1 to ${maxWorkers()}, not ${count}`);
  let held = 0;
  let closing = false;
  /** `handed`: the connections sent to a worker that it has not yet said it got, by id. */
  const pool: { child: ChildProcess; held: number; ready: boolean; handed: Map<number, Socket> }[] = [];

  const start = (index: number): Promise<void> => {
    const child = fork(ENTRY, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: workerExecArgv });
    const worker = { child, held: 0, ready: false, handed: new Map<number, Socket>() };
    pool[index] = worker;
    // A message to a worker that has just died fails with an error event; its exit is what is acted on.
    child.on('error', () => {});
    child.on('message', (message: FromWorker) => {
      if (message.type === 'got') {
        // The worker holds its own descriptor now: this one goes (closing it leaves the connection open).
        worker.handed.get(message.id)?.destroy();
        worker.handed.delete(message.id);
      } else if (message.type === 'take') {
        const ok = !closing && held < maxConnections;
        if (ok) (held++, worker.held++);
        child.send({ type: 'took', id: message.id, ok } satisfies ToWorker);
      } else if (message.type === 'give') {
        held--;
        worker.held--;
      } else if (message.type === 'session') {
        onSession?.(message.report);
      }
    });
    child.once('exit', (code, signal) => {
      held -= worker.held;
      worker.held = 0;
      // Sent as it died: Node neither closes them nor calls back. Unread still, they can go to another worker.
      const unclaimed = [...worker.handed.values()];
      worker.handed.clear();
      // One that never started is not started again (its start() fails): that would loop. (It was handed nothing.)
      if (closing || !worker.ready) return void unclaimed.forEach((socket) => socket.destroy());
      process.emitWarning(`deepgram-stream: local server worker ${index} exited (${signal ?? code}); starting another`);
      start(index).catch((error: Error) => {
        process.emitWarning(`deepgram-stream: ${error.message}`);
        // No worker will take the connections that wait: refused now, not left to their clients' timeouts.
        if (!coming()) for (const socket of waiting.splice(0)) socket.destroy();
      });
      unclaimed.forEach(hand);
    });
    child.send({ type: 'start', options: { ...rest, maxConnections }, worker: index } satisfies ToWorker);
    return new Promise<void>((resolve, reject) => {
      child.once('error', reject); // it could not be started at all
      child.once('exit', () => reject(new Error(`deepgram-stream: local server worker ${index} exited at start`)));
      child.on('message', (message: FromWorker) => {
        if (message.type !== 'ready') return;
        worker.ready = true;
        resolve();
        for (const socket of waiting.splice(0)) hand(socket);
      });
    });
  };

  /** Some worker is up, or on its way up: a connection may wait for it. */
  const coming = () => pool.some(({ child }) => child.exitCode === null && child.signalCode === null);
  let next = 0;
  let handedIds = 0;
  /** Connections that came while no worker was up (every one being replaced): handed on when one is. */
  const waiting: Socket[] = [];
  const hand = (socket: Socket) => {
    // The next worker in turn that is up (one being replaced is passed over).
    const worker = pool.map((_, i) => pool[(next + i) % pool.length]).find((w) => w.ready && w.child.connected);
    next++;
    if (worker) {
      const id = ++handedIds;
      worker.handed.set(id, socket);
      // Kept open here until the worker says it got it: one sent to a worker that dies would hang its client.
      worker.child.send({ type: 'socket', id } satisfies ToWorker, socket, { keepOpen: true }, (error) => {
        // Not sent: a worker on its way out gives it back at its exit (to another); else it is refused, once.
        if (error && worker.child.connected && worker.handed.delete(id)) socket.destroy();
      });
    } else if (waiting.length < maxConnections && coming()) waiting.push(socket);
    else socket.destroy();
  };
  const server = createServer({ pauseOnConnect: true }, hand);
  // Each is held here only until its worker has it, or while no worker is up: as many as one process holds, at most.
  server.maxConnections = socketBound(maxConnections);
  const stopAll = () => {
    closing = true;
    for (const socket of waiting.splice(0)) socket.destroy();
    for (const { child } of pool) child.kill('SIGKILL');
  };
  try {
    await Promise.all(Array.from({ length: count }, (_, i) => start(i)));
  } catch (error) {
    stopAll();
    throw error;
  }
  const close = async () => {
    closing = true;
    server.close();
    for (const socket of waiting.splice(0)) socket.destroy();
    await Promise.all(
      pool.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        if (child.connected) child.send({ type: 'close' } satisfies ToWorker);
        const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  };
  try {
    return await listen(server, { port, host }, () => held, close);
  } catch (error) {
    stopAll();
    throw error;
  }
}
