// A worker process of startServer({ workers }): serves the sockets its primary hands it, taking each session's slot
// from the primary, and ends when told to, or when the primary is gone.
import type { Socket } from 'node:net';
import { createHandler, type Handler } from './handler.js';
import type { SessionReport } from './dialect.js';
import type { FromWorker, ToWorker } from './workers.js';

const tell = (message: FromWorker) => process.connected && process.send!(message);
const waiting = new Map<number, (ok: boolean) => void>();
let asked = 0;
let handler: Handler | undefined;

process.on('message', (message: ToWorker, socket?: Socket) => {
  if (message.type === 'start') {
    const { worker } = message;
    handler = createHandler(
      {
        ...message.options,
        onSession: (report: SessionReport) => tell({ type: 'session', report: { ...report, worker } }),
      },
      {
        take: () =>
          new Promise<boolean>((resolve) => {
            waiting.set(++asked, resolve);
            tell({ type: 'take', id: asked });
          }),
        give: () => tell({ type: 'give' }),
      },
    );
    // The server never listens here (the primary does): Node starts timing requests out when a server starts
    // listening, so that is said, for the sockets handed to it to meet the same deadline.
    handler.http.emit('listening');
    tell({ type: 'ready' });
  } else if (message.type === 'socket') {
    // Said before anything is read from it: until then the primary may give it to another worker.
    tell({ type: 'got', id: message.id });
    if (socket) handler?.adopt(socket);
  } else if (message.type === 'took') {
    waiting.get(message.id)?.(message.ok);
    waiting.delete(message.id);
  } else if (message.type === 'close') {
    end();
  }
});
// Ctrl-C reaches the whole process group, and a service manager may signal every process: the primary decides when
// sessions end, and this worker ends with it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', end);

function end(): void {
  for (const resolve of waiting.values()) resolve(false);
  waiting.clear();
  void (handler?.close() ?? Promise.resolve()).then(() => process.exit(0));
}
