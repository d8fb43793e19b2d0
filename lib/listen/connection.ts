// Where a listen session connects and with what credential, checked before anything is dialled; and what a refused
// upgrade or an abnormal close means, as a DeepgramError.
import type { Agent, IncomingMessage } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import WebSocket from 'ws';
import { DeepgramError } from './errors.js';
import { Memo } from './memo.js';

export const DEFAULT_URL = 'wss://api.deepgram.com';

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/;

export interface ConnectionOptions {
  /** API key, sent as `Authorization: Token …`. Defaults to `DEEPGRAM_API_KEY`. */
  apiKey?: string;
  /** A temporary access token (JWT from `/v1/auth/grant`), sent as `Authorization: Bearer …`. */
  accessToken?: string;
  /** Base URL: the EU host, a self-hosted server or the local server. Default `wss://api.deepgram.com`. */
  url?: string;
  /** Allow `ws://` to a host other than loopback (the key would cross the network in clear). */
  allowInsecure?: boolean;
  /** An HTTP(S) agent for the upgrade request: a proxy's (for example `https-proxy-agent`), or one that pools. */
  agent?: Agent;
  /** Extra headers on the upgrade request (a tracing id, a proxy's); `Authorization` is the credential's own. */
  headers?: Record<string, string>;
  /** TLS for `wss://`: a private CA (`ca`), a client certificate (`cert`, `key`), or `rejectUnauthorized`. */
  tls?: SecureContextOptions & { rejectUnauthorized?: boolean; servername?: string };
}

/**
 * The URL to dial and the socket's options (its agent, headers with the credential, TLS): made once, for every socket
 * of a stream (`ws` copies its options). The URL is kept as a string: a URL object holds four more objects, for as
 * long as the stream lives, and a thousand streams' heap is what slows each of their writes.
 */
export interface Endpoint {
  url: string;
  options: WebSocket.ClientOptions;
}

/** Socket URLs built so far, by base URL, path and query: where a socket goes, and whether in clear. */
const URLS = new Memo<{ href: string; protocol: string; hostname: string }>(64, 2048);

/** The endpoint of `path` (`/v1/listen`) with `query`; options that can never work throw `DG_OPTIONS`. */
export function endpoint(options: ConnectionOptions, path: string, query: URLSearchParams): Endpoint {
  const base = options.url ?? DEFAULT_URL;
  const search = query.toString();
  const url = URLS.get(`${base}\n${path}?${search}`, () => socketUrl(base, path, search));
  const key = options.apiKey ?? process.env.DEEPGRAM_API_KEY;
  const authorization = options.accessToken ? `Bearer ${options.accessToken}` : key ? `Token ${key}` : undefined;
  // Only a credential can leak: with none, ws:// to a server of one's own (a self-hosted one, say) is no risk.
  if (url.protocol === 'ws:' && !LOOPBACK.test(url.hostname) && !options.allowInsecure && authorization) {
    throw new DeepgramError(
      'DG_OPTIONS',
      `ws:// to ${url.hostname} would send the key in clear: use wss://, or set allowInsecure: true ` +
        `(--allow-insecure on the command line)`,
    );
  }
  if (authorization === undefined && options.url === undefined) {
    throw new DeepgramError(
      'DG_OPTIONS',
      'no Deepgram key: set DEEPGRAM_API_KEY, or pass apiKey or accessToken; for a local or self-hosted server, ' +
        'pass its url',
    );
  }
  // Node would refuse it in the header with a bare ERR_INVALID_CHAR; a key read from a file often ends in \n.
  if (authorization !== undefined && /[^\t\x20-\x7e\x80-\xff]/.test(authorization)) {
    throw new DeepgramError(
      'DG_OPTIONS',
      'the API key or access token holds a line break or a control character: ' +
        'trim it (a key read from a file often ends in a newline)',
    );
  }
  const { agent, headers, tls } = options;
  const withCredential = authorization ? { ...headers, Authorization: authorization } : headers;
  return { url: url.href, options: { ...tls, agent, headers: withCredential, perMessageDeflate: false } };
}

/** `base` with `path` and the query `search`, as a ws:// or wss:// URL; any other scheme throws `DG_OPTIONS`. */
function socketUrl(base: string, path: string, search: string) {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new DeepgramError('DG_OPTIONS', `url must be ws:// or wss://, not ${url.protocol}`);
  }
  if (!url.pathname.endsWith(path)) url.pathname = `${url.pathname.replace(/\/$/, '')}${path}`;
  url.search = search;
  return { href: url.href, protocol: url.protocol, hostname: url.hostname };
}

/**
 * What a socket tells the link that dialled it: methods of one object, called by listeners shared by every socket
 * (as `ws` does), so that a thousand sessions make no thousand sets of closures. Nothing once `owns(ws)` says the
 * link has moved on from that socket.
 */
export interface SocketEvents {
  owns(ws: WebSocket): boolean;
  onUpgrade(res: IncomingMessage): void;
  /** The upgrade was refused: the error, once the body has arrived. */
  onRefused(error: DeepgramError): void;
  onOpen(): void;
  onMessage(data: Buffer, isBinary: boolean): void;
  /** A ping or a pong came: the peer is there. */
  onHeard(): void;
  onClose(code: number, reason: string): void;
  onError(error: Error): void;
}

const HANDLERS = new WeakMap<WebSocket, SocketEvents>();

/** The events of the link that still owns `ws`, if one does. */
function owner(ws: WebSocket): SocketEvents | undefined {
  const events = HANDLERS.get(ws);
  return events?.owns(ws) ? events : undefined;
}

function onUpgrade(this: WebSocket, res: IncomingMessage) {
  owner(this)?.onUpgrade(res);
}

function onUnexpectedResponse(this: WebSocket, req: { destroy(): void }, res: IncomingMessage) {
  if (!owner(this)) return;
  void refusal(res).then((error) => {
    req.destroy();
    owner(this)?.onRefused(error);
  });
}

function onOpen(this: WebSocket) {
  owner(this)?.onOpen();
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean) {
  owner(this)?.onMessage(data, isBinary);
}

function onHeard(this: WebSocket) {
  owner(this)?.onHeard();
}

function onClose(this: WebSocket, code: number, reason: Buffer) {
  owner(this)?.onClose(code, reason.toString());
}

function onError(this: WebSocket, error: Error) {
  owner(this)?.onError(error);
}

export function dial({ url, options }: Endpoint, events: SocketEvents): WebSocket {
  const ws = new WebSocket(url, options);
  HANDLERS.set(ws, events);
  return ws
    .on('upgrade', onUpgrade)
    .on('unexpected-response', onUnexpectedResponse)
    .on('open', onOpen)
    .on('message', onMessage)
    .on('ping', onHeard)
    .on('pong', onHeard)
    .on('close', onClose)
    .on('error', onError);
}

export function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A refused upgrade, once its body (at most 64 KiB kept) has arrived: status, dg-error, request id and body. */
export function refusal(res: IncomingMessage): Promise<DeepgramError> {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    if (size < 65536) chunks.push(chunk);
    size += chunk.length;
  });
  return new Promise((resolve) => {
    const settle = () => {
      const status = res.statusCode ?? 0;
      const dgError = header(res, 'dg-error');
      const requestId = header(res, 'dg-request-id');
      const body = Buffer.concat(chunks).toString('utf8').slice(0, 65536);
      const what = dgError ?? (body || res.statusMessage || 'no reason given');
      resolve(
        new DeepgramError(
          'DG_HANDSHAKE',
          `Deepgram refused the connection: ${status} ${what}${requestId ? ` (request ${requestId})` : ''}`,
          { status, dgError, requestId, body },
        ),
      );
    };
    res.once('end', settle);
    res.once('error', settle);
  });
}

/** A close other than a clean one, as an error that says the code, the reason and what the protocol means by them. */
export function closeError(
  code: number,
  reason: string,
  fields: Partial<DeepgramError>,
  then: string,
  describe: (code: number, reason: string) => string,
): DeepgramError {
  return new DeepgramError(
    'DG_CLOSE',
    `Deepgram closed the session with ${code}${reason ? ` "${reason}"` : ''}${then}: ${describe(code, reason)}`,
    { closeCode: code, closeReason: reason, ...fields },
  );
}
