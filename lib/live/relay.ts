// A WebSocket endpoint for browsers. Each browser connection gets its own listen stream, opened here with the
// server's key and URL, which nothing from the browser can change. Audio frames go in with backpressure (the
// browser's socket is not read while the listen stream is full), every server message goes back as JSON text, and
// the browser's end (a CloseStream message, or its socket closing) ends the listen stream, so every final arrives
// before the browser's socket is closed.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { createListenStream, type ListenStream, type ListenStreamOptions } from '../listen/stream.js';
import { createFluxStream, type FluxStream } from '../listen/flux.js';
import { listenSettings } from '../listen/options.js';
import { LISTEN_FLUX } from '../listen/protocol.js';
import { isFluxQuery, type FluxQuery } from '../protocol/flux.js';
import { parseJson } from '../protocol/guards.js';
import { DeepgramError } from '../listen/errors.js';
import type { ListenQuery } from '../protocol/options.js';
import type { ServerMessage } from '../protocol/messages.js';

/** What `authorize` may set for one connection. */
export interface RelayGrant {
  /** Merged over the relay's own query for this connection (a language, a model, a tag). */
  query?: ListenQuery | FluxQuery;
}

export interface RelayOptions {
  /**
   * The listen stream of every connection: key, URL, query, reconnect. The browser sees none of it. A Flux model in
   * the query opens a Flux stream instead (its messages go to the browser as they come).
   */
  listen?: Omit<ListenStreamOptions, 'signal' | 'query'> & { query?: ListenQuery | FluxQuery };
  /** Decides before the upgrade: false refuses with 401; a grant lets in with its options. Default: everyone. */
  authorize?: (request: IncomingMessage) => boolean | RelayGrant | Promise<boolean | RelayGrant>;
  /** The path the browser connects to. Default `/listen`. */
  path?: string;
  /** Browser connections at once; more are refused with 503. Default 100. */
  maxConnections?: number;
  /** Largest frame a browser may send (bytes); a larger one closes its socket with 1009. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Ms without a frame from the browser before its session is ended (CloseStream, then 1001). Default 30000. */
  idleTimeout?: number;
  /** Serve on this HTTP server's upgrades (other paths are left to its other listeners). */
  server?: Server;
}

/** What the relay itself tells a browser: one of these, then the socket closes. */
export interface RelayErrorMessage {
  type: 'RelayError';
  /** A `DeepgramError` code, or `RELAY_IDLE` / `RELAY_MESSAGE` for the relay's own reasons. */
  code: string;
  message: string;
  /** `dg-request-id`, to quote to Deepgram support. */
  requestId?: string;
}

export interface Relay {
  /** Takes one upgrade request (for an app that routes upgrades itself). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Browser connections held now, from the upgrade request until the socket closes. */
  readonly connections: number;
  /** Stops taking connections and ends every session at once. */
  close(): Promise<void>;
}

/** Server messages waiting to be written to a browser before its listen stream is paused. */
const SEND_HIGH_WATER = 64;

function refuse(socket: Duplex, status: number, reason: string, body = ''): void {
  const length = Buffer.byteLength(body);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: ${length}\r\n\r\n${body}`);
}

/** One browser's session: its socket and its listen stream, each ending the other. */
function bridge(ws: WebSocket, listen: ListenStream | FluxStream, idleTimeout: number): void {
  let unsent = 0;
  let goingAway = false;
  const send = (message: ServerMessage | RelayErrorMessage) => {
    if (ws.readyState !== ws.OPEN) return;
    unsent++;
    ws.send(JSON.stringify(message), () => --unsent < SEND_HIGH_WATER / 2 && listen.isPaused() && listen.resume());
    if (unsent >= SEND_HIGH_WATER) listen.pause();
  };
  const end = () => !listen.writableEnded && !listen.destroyed && listen.end();
  const idle = () => {
    send({ type: 'RelayError', code: 'RELAY_IDLE', message: `no audio from the browser for ${idleTimeout} ms` });
    goingAway = true;
    end();
  };
  const timer = setTimeout(idle, idleTimeout).unref();

  ws.on('message', (data: RawData, binary: boolean) => {
    timer.refresh();
    if (binary) {
      if (listen.writableEnded) return;
      if (!listen.write(data as Buffer)) {
        ws.pause();
        listen.once('drain', () => ws.resume());
      }
      return;
    }
    const json = parseJson(data.toString())?.value;
    const type = json !== null && typeof json === 'object' && 'type' in json ? json.type : undefined;
    const open = !listen.writableEnded;
    if (type === 'CloseStream') end();
    else if (type === 'Finalize' && 'finalize' in listen && open) listen.finalize();
    else if (type === 'ForceEndTurn' && 'forceEndTurn' in listen && open) listen.forceEndTurn();
    else if (type !== 'KeepAlive') {
      const takes = 'finalize' in listen ? 'CloseStream or Finalize' : 'CloseStream or ForceEndTurn';
      send({ type: 'RelayError', code: 'RELAY_MESSAGE', message: `the relay takes audio, ${takes}` });
      listen.destroy();
      ws.close(1003, 'RELAY_MESSAGE');
    }
  });
  // Drain is not emitted once the stream is ending: its finish and end resume the socket too, which must be read
  // for the close handshake to complete.
  listen.on('finish', () => ws.resume());
  ws.on('error', () => {}); // a browser's protocol error (too big a frame) is followed by its close, handled there
  ws.on('close', () => {
    clearTimeout(timer);
    listen.resume(); // nobody reads now: let the session drain to its end
    end();
  });
  listen.on('data', send);
  listen.on('end', () => {
    clearTimeout(timer);
    ws.resume();
    ws.close(goingAway ? 1001 : 1000, goingAway ? 'RELAY_IDLE' : '');
  });
  listen.on('error', (error: Error) => {
    clearTimeout(timer);
    const { code, requestId } = error instanceof DeepgramError ? error : { code: 'DG_ERROR', requestId: undefined };
    send({ type: 'RelayError', code, message: error.message, requestId });
    ws.resume();
    ws.close(1011, code);
  });
}

/** A relay for browsers: mount it on an HTTP server (`server`) or hand it upgrades (`handleUpgrade`). */
export function createRelay(options: RelayOptions = {}): Relay {
  const { listen = {}, authorize = () => true, path = '/listen', maxConnections = 100 } = options;
  const idleTimeout = options.idleTimeout ?? 30_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 1 << 20 });
  let connections = 0;

  async function admit(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (new URL(request.url ?? '/', 'http://relay').pathname !== path) return refuse(socket, 404, 'Not Found');
    if (connections >= maxConnections) return refuse(socket, 503, 'Service Unavailable');
    connections++;
    socket.once('close', () => connections--);
    let grant: boolean | RelayGrant;
    try {
      grant = await authorize(request);
    } catch {
      return refuse(socket, 500, 'Internal Server Error');
    }
    if (grant === false) return refuse(socket, 401, 'Unauthorized');
    if (socket.destroyed) return;
    const query = { ...listen.query, ...(grant === true ? {} : grant.query) };
    const flux = isFluxQuery(query);
    try {
      // Options that can never work are the app's to fix: refused before the upgrade.
      listenSettings({ ...listen, query }, flux ? LISTEN_FLUX : undefined);
    } catch (error) {
      return refuse(socket, 500, 'Internal Server Error', (error as Error).message);
    }
    wss.handleUpgrade(request, socket, head, (ws) =>
      bridge(ws, flux ? createFluxStream({ ...listen, query }) : createListenStream({ ...listen, query }), idleTimeout),
    );
  }

  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => void admit(request, socket, head);
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://relay').pathname === path) handleUpgrade(request, socket, head);
  };
  options.server?.on('upgrade', onUpgrade);
  return {
    handleUpgrade,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise((resolve) => {
        options.server?.off('upgrade', onUpgrade);
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}
