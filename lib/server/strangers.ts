// An HTTP server that strangers reach (the local server, the relay's page and socket), with what Node leaves
// unbounded bounded: how long a request's headers may take, and how many sockets are held at once.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';

/** How long a request may take to arrive, however slowly it trickles in (Node checks every second). */
const REQUEST_MS = 10_000;

/**
 * An HTTP server whose requests must be whole within `REQUEST_MS` (408, then closed) and which holds at most twice
 * `sessions` sockets, or `sessions` and 256 (pages, handshakes and refusals beside the sessions); a socket past that
 * is closed as it comes. A socket upgraded to a WebSocket is the session's, and keeps no deadline from here.
 */
export function serverForStrangers(sessions: number, listener: RequestListener): Server {
  const server = createServer(
    { headersTimeout: REQUEST_MS, requestTimeout: REQUEST_MS, connectionsCheckingInterval: 1000 },
    listener,
  );
  server.maxConnections = socketBound(sessions);
  return server;
}

/** The most sockets a server of `sessions` sessions holds at once. */
export function socketBound(sessions: number): number {
  return Math.max(2 * sessions, sessions + 256);
}

/**
 * Serves on `server`, which never listens (a worker's), sockets that another process accepted, under the bound it
 * would keep had it accepted them: Node applies `maxConnections` only as it accepts.
 */
export function adopter(server: Server): (socket: Socket) => void {
  let held = 0;
  return (socket) => {
    if (held >= server.maxConnections) return void socket.destroy();
    held++;
    socket.once('close', () => held--);
    server.emit('connection', socket);
  };
}
