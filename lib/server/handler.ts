// The local server's handshake (path, auth, limits, query) and a session per socket, on an HTTP server that is not
// yet listening: startServer() listens with it in this process; a worker process serves the sockets handed to it.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { checkQuery } from '../protocol/options.js';
import { requestUrl } from '../protocol/guards.js';
import { Session } from './session.js';
import { novaDialect } from './nova.js';
import { fluxDialect } from './flux.js';
import { checkFluxQuery } from '../protocol/flux.js';
import { speakSession } from './speak.js';
import { adopter, serverForStrangers } from './strangers.js';
import { checkSpeakQuery } from '../protocol/speak.js';
import type { LocalServer, ServerOptions } from './index.js';

const PATHS = ['/v1/listen', '/v2/listen', '/v1/speak'];

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The credential a client offered: `Authorization: Token|Bearer x`, or the subprotocols `token|bearer, x`. */
function credential(request: IncomingMessage): string | undefined {
  const header = /^(?:token|bearer)\s+(.+)$/i.exec(request.headers.authorization ?? '');
  if (header) return header[1].trim();
  const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const at = protocols.findIndex((p) => p === 'token' || p === 'bearer');
  return at >= 0 ? protocols[at + 1] : undefined;
}

/** A header value can hold no line break (response splitting) and no control character: those are escaped. */
const headerSafe = (text: string): string => text.replace(/[^\x20-\x7e]/g, (c) => encodeURIComponent(c));

/** A refused upgrade; its body is shaped as the path's protocol shapes it (Flux: `code` and `description`). */
function reject(
  socket: Socket,
  status: number,
  errCode: string,
  errMsg: string,
  requestId: string,
  flux = false,
): void {
  const body = JSON.stringify(
    flux ? { code: errCode, description: errMsg } : { err_code: errCode, err_msg: errMsg, request_id: requestId },
  );
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ndg-error: ` +
      `${headerSafe(errMsg)}\r\n` +
      `dg-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Sessions at once, when `maxConnections` is not given. */
export const MAX_CONNECTIONS = 1000;

/** Where a handshake takes a session's slot: a count in this process, or the primary's, asked over IPC, in a worker. */
export interface Slots {
  /** A slot for one session, or false at the limit. */
  take(): boolean | Promise<boolean>;
  give(): void;
}

/** Slots counted here, up to `max`. */
export function counter(max: number): Slots & { readonly held: number } {
  let held = 0;
  return {
    take: () => held < max && ++held > 0,
    give: () => void held--,
    get held() {
      return held;
    },
  };
}

export interface Handler {
  /** Not listening: startServer() listens with it. */
  http: Server;
  /** Serves a socket its primary accepted, in a worker (past the bound on sockets held, it is closed). */
  adopt(socket: Socket): void;
  /** Ends every session and the server. */
  close(): Promise<void>;
}

export function createHandler(options: ServerOptions, slots: Slots): Handler {
  const keys = options.apiKey === undefined ? undefined : [options.apiKey].flat().map(digest);
  const requestIds = new WeakMap<IncomingMessage, string>();
  let index = 0;

  const authorized = (request: IncomingMessage): boolean => {
    if (!keys) return true;
    const offered = credential(request);
    if (offered === undefined) return false;
    const hashed = digest(offered);
    // Compared in constant time, and against every key, so timing tells nothing about any of them.
    return keys.reduce((ok, key) => timingSafeEqual(key, hashed) || ok, false);
  };
  const scriptFor = (request: IncomingMessage): string[] | undefined => {
    const text = typeof options.script === 'function' ? options.script(request) : options.script;
    const words = text?.split(/\s+/).filter(Boolean);
    return words && words.length > 0 ? words : undefined;
  };

  const http: Server = serverForStrangers(options.maxConnections ?? MAX_CONNECTIONS, (request, response) => {
    const path = requestUrl(request)?.pathname;
    const status = path && PATHS.includes(path) ? 426 : 404;
    const requestId = randomUUID();
    const body = JSON.stringify({
      err_code: STATUS_CODES[status],
      err_msg: 'This server speaks only the live WebSockets /v1/listen, /v2/listen and /v1/speak',
      request_id: requestId,
    });
    response.writeHead(status, { 'content-type': 'application/json', 'dg-request-id': requestId });
    response.end(body);
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload ?? 8 * 1024 * 1024,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('token') ? 'token' : protocols.has('bearer') ? 'bearer' : false),
  });
  wss.on('headers', (headers, request) => headers.push(`dg-request-id: ${requestIds.get(request)}`));

  http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    const requestId = randomUUID();
    const url = requestUrl(request);
    if (!url || !PATHS.includes(url.pathname)) return reject(socket, 404, 'NOT_FOUND', 'Not Found', requestId);
    const flux = url.pathname === '/v2/listen';
    const speak = url.pathname === '/v1/speak';
    if (!authorized(request)) return reject(socket, 401, 'INVALID_AUTH', 'Invalid credentials.', requestId, flux);
    if (flux) {
      const problem =
        checkFluxQuery(url.searchParams) ??
        (url.searchParams.get('encoding') === 'opus'
          ? 'the local server does not decode raw Opus packets: send Ogg/Opus or WebM/Opus and leave encoding out'
          : undefined);
      if (problem) return reject(socket, 400, 'INVALID_PARAMETER', problem, requestId, true);
    } else {
      const problem = (speak ? checkSpeakQuery : checkQuery)(url.searchParams);
      if (problem) return reject(socket, 400, 'Bad Request', `Bad Request: ${problem}`, requestId);
    }
    requestIds.set(request, requestId);
    const upgrade = (admitted: boolean) => {
      if (!admitted) {
        return reject(socket, 429, 'TOO_MANY_REQUESTS', 'Too many requests. Please try again later', requestId, flux);
      }
      // `index` counts the connections let in: one refused (400, 429) is not counted.
      const faults =
        typeof options.faults === 'function' ? options.faults({ index: index++, request }) : options.faults;
      // A slot is held from here until the socket closes, whether or not the upgrade completes (ws refuses one with
      // no Sec-WebSocket-Key, say, and destroys the socket): a refused upgrade gives its slot straight back.
      if (socket.destroyed) return slots.give();
      socket.once('close', () => slots.give());
      wss.handleUpgrade(request, socket, head, (ws) => {
        if (speak) return speakSession(ws, { ...options.speak, requestId, params: url.searchParams });
        new Session(ws, socket, {
          requestId,
          path: url.pathname,
          params: url.searchParams,
          faults: faults ?? {},
          realtimeFactor: options.realtimeFactor ?? 1.25,
          inactivityTimeout: options.inactivityTimeout,
          closeDeadline: options.closeDeadline ?? 60_000,
          script: scriptFor(request),
          dialect: flux ? fluxDialect : novaDialect,
          onEnd: options.onSession,
        });
      });
    };
    const taken = slots.take();
    if (typeof taken === 'boolean') upgrade(taken);
    else void taken.then(upgrade);
  });

  return {
    http,
    adopt: adopter(http),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** Listens where the options say, and describes the server that results. */
export async function listen(
  server: NetServer,
  options: Pick<ServerOptions, 'port' | 'host'>,
  connections: () => number,
  close: () => Promise<void>,
): Promise<LocalServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `ws://${host}:${port}`,
    port,
    get connections() {
      return connections();
    },
    close,
  };
}
