// A WebSocket endpoint for browsers. Each browser connection gets its own listen stream, opened here with the
// server's key and URL, which nothing from the browser can change (relay-session.ts bridges the two). Its doors:
// only the Host names it serves, only its own page's origin (and any listed), authorize, a cap on connections and
// on sessions per address; a reset mid-handshake or a path it does not serve is answered, never left open.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { bridge, type RelaySessionLog } from './relay-session.js';
import { voice, type Reply } from './relay-voice.js';
import type { SpeakStreamOptions } from '../speak/stream.js';
import { livenessOf, Watch, type Liveness } from '../listen/liveness.js';
import type { ListenStreamOptions } from '../listen/listen.js';
import { createSession, protocolOf } from '../listen/session.js';
import { listenSettings } from '../listen/options.js';
import type { FluxQuery } from '../protocol/flux.js';
import type { ListenQuery } from '../protocol/options.js';
import { requestUrl } from '../protocol/guards.js';

export type { RelayErrorMessage, RelaySessionLog } from './relay-session.js';

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
  /**
   * Decides before the upgrade: false refuses with 401; true or a grant lets in (the grant with its options); any
   * other answer, or a throw, refuses with 500. Default: everyone who passes the doors below.
   */
  authorize?: (request: IncomingMessage) => boolean | RelayGrant | Promise<boolean | RelayGrant>;
  /**
   * Host names served: a browser's `Host` must be one (`name` for any port, or `name:port`); another is refused
   * with 403, so a page that rebinds its own name to this machine gets nothing. Default: localhost, 127.0.0.1 and
   * [::1]: list the public names when serving on one.
   */
  hosts?: string[];
  /**
   * Origins whose pages may use the relay (`https://app.example`), besides the relay's own (an Origin whose host is
   * the Host asked for); any other browser page is refused with 403. A client that sends no Origin is no browser
   * page, and is let through to `authorize`.
   */
  origins?: string[];
  /** Sessions at once from one client address; more are told RELAY_LIMIT and closed with 1008. Default: no cap. */
  maxPerAddress?: number;
  /** Ms a session may last; then it ends with its last results (RELAY_SESSION_LIMIT, 1008). Default: no limit. */
  maxSessionMs?: number;
  /**
   * A ping to a browser when nothing came from it for `interval` ms; one silent for `timeout` ms (not counting time
   * the relay holds its socket) is closed. Default 10000 and 30000.
   */
  liveness?: { interval?: number; timeout?: number } | false;
  /** Told once of every session when it has ended (one line to log): never the key. */
  onSession?: (log: RelaySessionLog) => void;
  /** The path the browser connects to. Default `/listen`. */
  path?: string;
  /** Browser connections at once; more are refused with 503. Default 100. */
  maxConnections?: number;
  /** Largest frame a browser may send (bytes); a larger one closes its socket with 1009. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Ms without audio from the browser before its session ends (its last results, RELAY_IDLE, 1001). Default 30000. */
  idleTimeout?: number;
  /** Serve on this HTTP server's upgrades (other paths are left to its other listeners). */
  server?: Server;
  /**
   * A voice app: at the end of each of the speaker's turns, what to say back. It is spoken (`speak`'s options; by
   * default the listen URL and key) and sent to the page as binary linear16 audio at 24 kHz, which the page plays;
   * when the speaker starts again while it plays, it stops (barge-in) and the page is told `{ type: 'ReplyStopped' }`.
   */
  reply?: Reply;
  speak?: Omit<SpeakStreamOptions, 'signal'>;
  /**
   * What the page is told it transcribes with, first on each connection (`{ type: 'RelayInfo', model, backend,
   * synthetic }`): the backend's name (default "Deepgram"), and whether its words are synthetic (the local server).
   */
  backend?: { name?: string; synthetic?: boolean };
}

export interface Relay {
  /** Takes one upgrade request (for an app that routes upgrades itself). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Browser connections held now, from the upgrade request until the socket closes. */
  readonly connections: number;
  /**
   * Stops taking connections and ends every session with its last results (RELAY_STOPPING, 1001), waiting at most
   * `graceMs` (default 5000) before closing what is left at once.
   */
  close(graceMs?: number): Promise<void>;
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

const isGrant = (answer: unknown): answer is RelayGrant =>
  answer !== null && typeof answer === 'object' && !Array.isArray(answer);

function refuse(socket: Duplex, status: number, reason: string, body = ''): void {
  const length = Buffer.byteLength(body);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: ${length}\r\n\r\n${body}`);
}

/** `name` or `name:port` as a host and port ('' for any port), or undefined when it is no host. */
function hostOf(text: string): { hostname: string; port: string } | undefined {
  try {
    const url = new URL(`http://${text}`);
    return url.username || url.pathname !== '/' ? undefined : { hostname: url.hostname, port: url.port };
  } catch {
    return undefined;
  }
}

/** Why the doors refuse `request` (403), or undefined. */
function doorProblem(request: IncomingMessage, hosts: string[], origins: string[]): string | undefined {
  const host = request.headers.host ?? '';
  const asked = hostOf(host);
  const served = hosts
    .map(hostOf)
    .some((h) => h && asked && h.hostname === asked.hostname && (!h.port || h.port === asked.port));
  if (!served) return `this relay does not serve the host "${host.slice(0, 100)}"`;
  const origin = request.headers.origin;
  if (origin === undefined || origins.includes(origin)) return undefined;
  const own = hostOf(origin.replace(/^https?:\/\//, ''));
  if (own && own.hostname === asked!.hostname && own.port === asked!.port && /^https?:\/\//.test(origin))
    return undefined;
  return `pages from ${origin.slice(0, 100)} may not use this relay`;
}

/** How a browser gone silent is noticed, when `liveness` is not given. */
const RELAY_LIVENESS: Liveness = Object.freeze({ interval: 10_000, timeout: 30_000 });

/** Browsers at once, when `maxConnections` is not given. */
export const RELAY_MAX_CONNECTIONS = 100;

/** A relay for browsers: mount it on an HTTP server (`server`) or hand it upgrades (`handleUpgrade`). */
export function createRelay(options: RelayOptions = {}): Relay {
  const { listen = {}, authorize = () => true, path = '/listen', maxConnections = RELAY_MAX_CONNECTIONS } = options;
  const { hosts = LOOPBACK, origins = [], maxPerAddress = Infinity } = options;
  const limits = { idleTimeout: options.idleTimeout ?? 30_000, maxSessionMs: options.maxSessionMs };
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 1 << 20 });
  const perAddress = new Map<string, number>();
  const sessions = new Set<{ stop(): void }>();
  let connections = 0;
  const liveness = livenessOf(options.liveness, RELAY_LIVENESS);

  async function admit(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {}); // a reset before the handshake is done is that browser's loss alone
    if (requestUrl(request)?.pathname !== path) return refuse(socket, 404, 'Not Found');
    const door = doorProblem(request, hosts, origins);
    if (door) return refuse(socket, 403, 'Forbidden', door);
    if (connections >= maxConnections) return refuse(socket, 503, 'Service Unavailable');
    const address = request.socket.remoteAddress ?? 'unknown';
    connections++;
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      connections--;
      const left = perAddress.get(address)! - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    let answer: unknown;
    try {
      answer = await authorize(request);
    } catch {
      return refuse(socket, 500, 'Internal Server Error');
    }
    if (answer === false) return refuse(socket, 401, 'Unauthorized');
    const grant: RelayGrant | undefined = answer === true ? {} : isGrant(answer) ? answer : undefined;
    if (!grant) return refuse(socket, 500, 'Internal Server Error', 'authorize must answer true, false or a grant');
    if (socket.destroyed) return;
    const query = { ...listen.query, ...grant.query };
    try {
      // Options that can never work are the app's to fix: refused before the upgrade.
      listenSettings({ ...listen, query }, protocolOf(query));
    } catch (error) {
      return refuse(socket, 500, 'Internal Server Error', error instanceof Error ? error.message : String(error));
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      // A browser gone silently is closed; while the relay holds its socket (backpressure) it cannot be heard.
      if (liveness) new Watch(ws, liveness, { dead: () => ws.terminate() });
      if (perAddress.get(address)! > maxPerAddress) {
        const message = `at most ${maxPerAddress} sessions at once from one address`;
        ws.send(JSON.stringify({ type: 'RelayError', code: 'RELAY_LIMIT', message }));
        return ws.close(1008, 'RELAY_LIMIT');
      }
      const started = new Date();
      const { name = 'Deepgram', synthetic = false } = options.backend ?? {};
      const model = 'model' in query && query.model ? String(query.model) : 'the default model';
      ws.send(JSON.stringify({ type: 'RelayInfo', model, backend: name, synthetic }));
      const stream = createSession({ ...listen, query });
      const talk =
        options.reply && voice(ws, options.reply, { url: listen.url, apiKey: listen.apiKey, ...options.speak });
      const session = bridge(
        ws,
        stream,
        limits,
        (log) => {
          sessions.delete(session);
          options.onSession?.({ address, started, ...log });
        },
        talk ? talk.finish : undefined,
      );
      sessions.add(session);
      if (talk) {
        stream.on('data', talk.heard);
        ws.on('close', talk.destroy);
      }
    });
  }

  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => void admit(request, socket, head);
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (requestUrl(request)?.pathname === path) handleUpgrade(request, socket, head);
    // A path nobody else serves is answered now, not left holding a descriptor.
    else if (options.server?.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found');
  };
  options.server?.on('upgrade', onUpgrade);
  return {
    handleUpgrade,
    get connections() {
      return connections;
    },
    close: async (graceMs = 5000) => {
      options.server?.off('upgrade', onUpgrade);
      for (const session of sessions) session.stop();
      const closed = [...wss.clients].map((ws) => new Promise((resolve) => ws.once('close', resolve)));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
