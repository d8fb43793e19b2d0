import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Duplex, addAbortSignal } from 'node:stream';
import { debuglog } from 'node:util';
import WebSocket from 'ws';
import { DeepgramError } from './errors.js';
import { backoffDelay } from './backoff.js';
import { rebase, repeats, ReplayBuffer } from './replay.js';
import { checkQuery, toSearchParams, type ListenQuery } from '../protocol/options.js';
import {
  CLOSE_DATA_ERROR, CLOSE_NORMAL, describeClose, roundMicro,
  type ControlMessage, type MetadataMessage, type ServerMessage,
} from '../protocol/messages.js';
import { isFinal, isMetadata, parseServerMessage } from '../protocol/guards.js';

export const DEFAULT_URL = 'wss://api.deepgram.com';

/** `NODE_DEBUG=deepgram-stream` shows connects, closes and reconnects (never the key). */
const debug = debuglog('deepgram-stream');

export interface ReconnectOptions {
  /** Reconnects tried in a row before giving up; a connection that delivers a new final resets the count. */
  attempts: number;
  /** Exponential backoff with full jitter: a delay up to `initial * 2^(n-1)`, at most `max` (ms). */
  backoff?: { initial?: number; max?: number };
  /**
   * Bytes of audio not yet covered by finals held for a replay. Past it the held audio is let go and a later drop
   * is an error (a reconnect would leave a gap). Default 64 MiB.
   */
  replayLimit?: number;
}

export interface ListenStreamOptions {
  /** Query parameters of `/v1/listen`, named as Deepgram names them. */
  query?: ListenQuery;
  /** API key, sent as `Authorization: Token …`. Defaults to `DEEPGRAM_API_KEY`. */
  apiKey?: string;
  /** A temporary access token (JWT from `/v1/auth/grant`), sent as `Authorization: Bearer …`. */
  accessToken?: string;
  /** Base URL: the EU host, a self-hosted server or the local server. Default `wss://api.deepgram.com`. */
  url?: string;
  /** Allow `ws://` to a host other than loopback (the key would cross the network in clear). */
  allowInsecure?: boolean;
  /** Milliseconds to wait for the upgrade. Default 10000. */
  connectTimeout?: number;
  /** After CloseStream, milliseconds without a server frame before giving up. Default 15000. */
  closeTimeout?: number;
  /** Send KeepAlive when nothing went out for this many ms (so at most twice this apart); false turns it off. Default 3000. */
  keepAlive?: number | false;
  /** Bytes of audio held before `write()` returns false (also the bound on the socket's own buffer). */
  highWaterMark?: number;
  /** Server messages held before the socket stops being read. Default 16. */
  readableHighWaterMark?: number;
  /**
   * Reconnect after an abnormal close (1006, 1011, a network error; never 1000, 1008 or a 4xx handshake),
   * replaying the audio not yet covered by finals and re-basing timestamps. Off by default.
   */
  reconnect?: ReconnectOptions;
  signal?: AbortSignal;
}

/** What the `reconnect` event tells. */
export interface ReconnectEvent {
  attempt: number;
  /** The close that caused it. */
  code: number;
  reason: string;
  /** Milliseconds waited before dialling again. */
  delay: number;
}

interface QueuedControl {
  /** Audio bytes that must be on the socket before this frame goes. */
  after: number;
  text: string;
}

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/;

function listenUrl(base: string, query: URLSearchParams, allowInsecure: boolean): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new DeepgramError('DG_OPTIONS', `url must be ws:// or wss://, not ${url.protocol}`);
  }
  if (url.protocol === 'ws:' && !LOOPBACK.test(url.hostname) && !allowInsecure) {
    throw new DeepgramError('DG_OPTIONS',
      `ws:// to ${url.hostname} would send the key in clear: use wss://, or set allowInsecure: true (--allow-insecure on the command line)`);
  }
  if (!url.pathname.endsWith('/v1/listen')) url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/listen`;
  url.search = query.toString();
  return url.toString();
}

function authorization(options: ListenStreamOptions): string | undefined {
  if (options.accessToken) return `Bearer ${options.accessToken}`;
  const key = options.apiKey ?? process.env.DEEPGRAM_API_KEY;
  return key ? `Token ${key}` : undefined;
}

/** A close other than 1000, as an error that says the code, the reason and what Deepgram means by them. */
function closeError(code: number, reason: string, fields: Partial<DeepgramError>, then = ''): DeepgramError {
  return new DeepgramError('DG_CLOSE',
    `Deepgram closed the session with ${code}${reason ? ` "${reason}"` : ''}${then}: ${describeClose(code, reason)}`,
    { closeCode: code, closeReason: reason, ...fields });
}

function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface ListenStream {
  on(event: 'data', listener: (message: ServerMessage) => void): this;
  on(event: 'metadata', listener: (metadata: MetadataMessage) => void): this;
  on(event: 'reconnect', listener: (event: ReconnectEvent) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'metadata', listener: (metadata: MetadataMessage) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  [Symbol.asyncIterator](): AsyncIterableIterator<ServerMessage>;
}

/**
 * A Duplex over one `/v1/listen` session: audio bytes in, server messages out.
 * `end()` sends CloseStream after the last audio; the readable side ends when the server closes with 1000.
 */
export class ListenStream extends Duplex {
  readonly #url: string;
  readonly #auth?: string;
  readonly #options: ListenStreamOptions;
  #ws!: WebSocket;
  #requestId?: string;
  #metadata?: MetadataMessage;
  /** Metadata comes just before the close; whether it ends the stream depends on the close code. */
  #heldMetadata?: MetadataMessage;
  /** A write or final that arrived while no socket was open. */
  #whenOpen?: () => void;
  /** Bytes handed to the socket, and bytes whose write has completed. */
  #sent = 0;
  #completed = 0;
  #controls: QueuedControl[] = [];
  #waitingWrite?: (error?: Error | null) => void;
  #closeSent = false;
  #idle = true;
  #readPaused = false;
  #keepAliveTimer?: NodeJS.Timeout;
  #connectTimer?: NodeJS.Timeout;
  #closeTimer?: NodeJS.Timeout;
  #reconnectTimer?: NodeJS.Timeout;
  // Reconnect state: only used with the `reconnect` option.
  #replay?: ReplayBuffer;
  #hash?: Hash;
  #reconnecting = false;
  /** Sockets given up on: their late events (a close after a refused handshake) must not act twice. */
  #retired = new WeakSet<WebSocket>();
  #everOpened = false;
  #reconnects = 0;
  #attempt = 0;
  #offset = 0;
  #duplicatesUntil = 0;

  constructor(options: ListenStreamOptions = {}) {
    super({
      readableObjectMode: true,
      writableHighWaterMark: options.highWaterMark,
      readableHighWaterMark: options.readableHighWaterMark,
      allowHalfOpen: true,
    });
    const query = toSearchParams(options.query ?? {});
    const problem = checkQuery(query);
    if (problem) throw new DeepgramError('DG_OPTIONS', problem);
    this.#url = listenUrl(options.url ?? DEFAULT_URL, query, options.allowInsecure ?? false);
    this.#auth = authorization(options);
    if (this.#auth === undefined && options.url === undefined) {
      throw new DeepgramError('DG_OPTIONS',
        'no Deepgram key: set DEEPGRAM_API_KEY, or pass apiKey or accessToken; for a local or self-hosted server, pass its url');
    }
    // Node would refuse it in the header with a bare ERR_INVALID_CHAR; a key read from a file often ends in \n.
    if (this.#auth !== undefined && /[^\t\x20-\x7e\x80-\xff]/.test(this.#auth)) {
      throw new DeepgramError('DG_OPTIONS', 'the API key or access token holds a line break or a control character: ' +
        'trim it (a key read from a file often ends in a newline)');
    }
    this.#options = { ...options, apiKey: undefined, accessToken: undefined };
    if (options.reconnect) {
      this.#replay = new ReplayBuffer(query, options.reconnect.replayLimit);
      this.#hash = createHash('sha256');
    }
    this.#connect();
    if (options.signal) addAbortSignal(options.signal, this);
  }

  /** `dg-request-id` of the current session, once the upgrade has answered. */
  get requestId(): string | undefined {
    return this.#requestId;
  }

  /** The session's Metadata, once the server has closed normally. */
  get metadata(): MetadataMessage | undefined {
    return this.#metadata;
  }

  /** Asks the server to transcribe what it holds now; goes out after all audio written before it. */
  finalize(channel?: number): void {
    this.#control(channel === undefined ? { type: 'Finalize' } : { type: 'Finalize', channel });
  }

  keepAlive(): void {
    this.#control({ type: 'KeepAlive' });
  }

  /** Changes features mid-stream (Deepgram documents `numerals`). */
  configure(features: Record<string, unknown>): void {
    this.#control({ type: 'Configure', features });
  }

  #connect(): void {
    const ws = new WebSocket(this.#url, {
      headers: this.#auth ? { Authorization: this.#auth } : {},
      perMessageDeflate: false,
    });
    this.#ws = ws;
    if (this.#readPaused) ws.pause();
    debug('connecting (attempt %d)', this.#attempt);
    const connectTimeout = this.#options.connectTimeout ?? 10_000;
    this.#connectTimer = setTimeout(() => {
      if (this.#reconnecting) return this.#retry(ws, 1006, `no upgrade within ${connectTimeout} ms`);
      ws.terminate();
      this.#fail(ws, new DeepgramError('DG_CONNECT_TIMEOUT', `no upgrade from the server within ${connectTimeout} ms`));
    }, connectTimeout);
    // A socket that has been given up on, replaced or torn down says nothing more.
    const current = (handler: (...args: any[]) => void) => (...args: any[]) => {
      if (ws === this.#ws && !this.#retired.has(ws) && !this.destroyed) handler(...args);
    };
    ws.on('upgrade', current((res: IncomingMessage) => {
      this.#requestId = header(res, 'dg-request-id');
    }));
    ws.on('unexpected-response', current((req, res) => this.#refused(ws, req, res)));
    ws.on('open', current(() => this.#opened()));
    ws.on('message', current((data: Buffer, isBinary: boolean) => this.#message(data, isBinary)));
    ws.on('close', current((code: number, reason: Buffer) => this.#closed(code, reason.toString())));
    // An error is followed by a close, which decides between reconnecting and failing; before any open there
    // is nothing to reconnect, so it fails at once.
    ws.on('error', current((error: Error) => {
      if (!this.#replay || !this.#everOpened) this.#fail(ws, error);
    }));
  }

  #opened(): void {
    clearTimeout(this.#connectTimer);
    this.#everOpened = true;
    debug('open, request %s', this.#requestId);
    if (this.#reconnecting) {
      this.#reconnecting = false;
      const replay = this.#replay!.replay();
      this.#offset = replay.offset;
      this.#duplicatesUntil = replay.duplicatesUntil;
      for (const chunk of replay.chunks) this.#ws.send(chunk, { binary: true });
      debug('replayed %d bytes from %d s', replay.chunks.reduce((n, c) => n + c.length, 0), replay.offset);
      if (this.#closeSent) this.#sendCloseStream();
    }
    if (this.#options.keepAlive !== false && !this.#closeSent) this.#startKeepAlive(this.#options.keepAlive ?? 3000);
    this.#flushControls();
    const pending = this.#whenOpen;
    this.#whenOpen = undefined;
    pending?.();
    this.#onSent();
  }

  #refused(ws: WebSocket, req: { destroy(): void }, res: IncomingMessage): void {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < 65536) chunks.push(chunk);
      size += chunk.length;
    });
    let settled = false;
    const refused = () => {
      if (settled) return;
      settled = true;
      req.destroy();
      const status = res.statusCode ?? 0;
      const dgError = header(res, 'dg-error');
      const requestId = header(res, 'dg-request-id');
      if (this.#reconnecting && status >= 500) return this.#retry(ws, 1006, `handshake answered ${status}`);
      const body = Buffer.concat(chunks).toString('utf8').slice(0, 65536);
      const what = dgError ?? (body || res.statusMessage || 'no reason given');
      this.#fail(ws, new DeepgramError('DG_HANDSHAKE',
        `Deepgram refused the connection: ${status} ${what}${requestId ? ` (request ${requestId})` : ''}`,
        { status, dgError, requestId, body }));
    };
    res.once('end', refused);
    res.once('error', refused);
  }

  #message(data: Buffer, isBinary: boolean): void {
    this.#armCloseTimer();
    const text = data.toString('utf8');
    // Refused where it enters: no transform downstream ever meets a missing field or a NaN time.
    const parsed = isBinary ? { problem: 'a binary frame' } : parseServerMessage(text);
    if ('problem' in parsed) {
      this.destroy(new DeepgramError('DG_PROTOCOL', `the server sent a frame that is not a valid message (${parsed.problem})`,
        { raw: text.slice(0, 65536), requestId: this.#requestId }));
      return;
    }
    const valid = parsed.message;
    if (isMetadata(valid)) {
      this.#heldMetadata = valid;
      return;
    }
    if (this.#duplicatesUntil > 0 && repeats(valid, this.#duplicatesUntil)) return;
    rebase(valid, this.#offset);
    if (isFinal(valid)) {
      // Only progress resets the reconnect count: a server that answers and then drops again each time must
      // still exhaust the attempts.
      this.#attempt = 0;
      this.#replay?.cover(valid.start + valid.duration);
    }
    if (!this.push(valid)) this.#pauseReading();
  }

  #closed(code: number, reason: string): void {
    this.#stopTimers();
    const metadata = this.#heldMetadata;
    this.#heldMetadata = undefined;
    debug('closed %d %s', code, reason);
    if (code === CLOSE_NORMAL) {
      if (metadata) this.#finish(metadata);
      this.push(null);
      // Audio still queued can never be sent now: fail it rather than wait forever.
      this.#waitingWrite?.(new DeepgramError('DG_CLOSED', 'the server closed the session before this audio was sent'));
      const pending = this.#whenOpen;
      this.#whenOpen = undefined;
      pending?.();
      return;
    }
    const overflow = this.#replay?.overflow;
    if (this.#replay && !overflow && code !== CLOSE_DATA_ERROR) return this.#retry(this.#ws, code, reason);
    this.#fail(this.#ws, closeError(code, reason, { metadata, requestId: this.#requestId },
      overflow && ` and no reconnect was made (${overflow}; see reconnect.replayLimit)`));
  }

  /** The last Metadata; after reconnects, its duration and hash cover the whole stream, not the last session. */
  #finish(metadata: MetadataMessage): void {
    if (this.#reconnects > 0) {
      metadata.duration = roundMicro(metadata.duration + this.#offset);
      metadata.sha256 = this.#hash!.digest('hex');
    }
    this.#metadata = metadata;
    this.emit('metadata', metadata);
    this.push(metadata);
  }

  #retry(ws: WebSocket, code: number, reason: string): void {
    const limit = this.#options.reconnect!.attempts;
    if (this.#attempt >= limit) {
      return this.#fail(ws, closeError(code, reason, { requestId: this.#requestId }, ` and ${limit} reconnects failed`));
    }
    this.#retired.add(ws);
    this.#stopTimers();
    this.#attempt++;
    this.#reconnects++;
    this.#reconnecting = true;
    const { initial = 250, max = 5000 } = this.#options.reconnect!.backoff ?? {};
    const delay = Math.round(backoffDelay(this.#attempt, initial, max));
    debug('reconnecting after %d in %d ms (attempt %d)', code, delay, this.#attempt);
    this.emit('reconnect', { attempt: this.#attempt, code, reason, delay } satisfies ReconnectEvent);
    ws.terminate();
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #fail(ws: WebSocket, error: Error): void {
    if (ws !== this.#ws || this.#retired.has(ws)) return;
    this.#retired.add(ws);
    this.destroy(error);
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk, encoding }], callback);
  }

  /** Chunks buffered while the socket was busy go out together, each its own frame, with one completion. */
  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: (error?: Error | null) => void): void {
    const ws = this.#ws;
    // Held while connecting, reconnecting, or closing: the close code decides between sending it on a new
    // connection and failing with what the server said.
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.CLOSING || this.#reconnecting) {
      this.#whenOpen = () => this._writev(chunks, callback);
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) {
      callback(new DeepgramError('DG_CLOSED', 'the session is closed; this audio was not sent'));
      return;
    }
    let bytes = 0;
    for (const { chunk } of chunks) {
      // An empty binary frame means CloseStream to the server: never send one.
      if (chunk.length === 0) continue;
      bytes += chunk.length;
      this.#sent += chunk.length;
      this.#replay?.add(chunk);
      this.#hash?.update(chunk);
      ws.send(chunk, { binary: true }, this.#onSent);
      if (this.#controls.length > 0) this.#flushControls();
    }
    this.#idle = false;
    this.#waitingWrite = (error?: Error | null) => {
      this.#waitingWrite = undefined;
      this.#completed += bytes;
      callback(error);
    };
    this.#onSent();
  }

  /** A write completes once the socket's own buffer is under the mark. Send errors end in a close, handled there. */
  #onSent = (): void => {
    if (this.#waitingWrite && !this.#reconnecting && this.#ws.bufferedAmount <= this.writableHighWaterMark) {
      this.#waitingWrite();
    }
  };

  override _final(callback: (error?: Error | null) => void): void {
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.CLOSING || this.#reconnecting) {
      this.#whenOpen = () => this._final(callback);
      return;
    }
    if (ws.readyState === WebSocket.OPEN) {
      this.#flushControls();
      this.#closeSent = true;
      this.#sendCloseStream();
    }
    callback();
  }

  #sendCloseStream(): void {
    this.#sendText({ type: 'CloseStream' });
    clearInterval(this.#keepAliveTimer);
    this.#armCloseTimer();
  }

  /**
   * After CloseStream, the server has `closeTimeout` ms to say something. Only time in which it could have said
   * it counts: while this stream has paused reading (its reader is slow), the timer is off.
   */
  #armCloseTimer(): void {
    clearTimeout(this.#closeTimer);
    if (!this.#closeSent || this.#readPaused || this.destroyed) return;
    const ms = this.#options.closeTimeout ?? 15_000;
    this.#closeTimer = setTimeout(() => {
      this.destroy(new DeepgramError('DG_CLOSE_TIMEOUT',
        `the server did not close within ${ms} ms of its last message after CloseStream`,
        { requestId: this.#requestId, metadata: this.#heldMetadata }));
    }, ms);
  }

  #pauseReading(): void {
    this.#readPaused = true;
    this.#ws.pause();
    clearTimeout(this.#closeTimer);
  }

  override _read(): void {
    if (!this.#readPaused) return;
    this.#readPaused = false;
    if (this.#ws.isPaused) this.#ws.resume();
    this.#armCloseTimer();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopTimers();
    clearTimeout(this.#reconnectTimer);
    this.#whenOpen = undefined;
    this.#controls = [];
    // Torn down at once, with no CloseStream: destroy() means stop now.
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.terminate();
    callback(error);
  }

  #control(message: ControlMessage): void {
    if (this.#closeSent || this.destroyed) {
      throw new DeepgramError('DG_CLOSED', `${message.type} after CloseStream: the session is closing`);
    }
    this.#controls.push({ after: this.#completed + this.writableLength, text: JSON.stringify(message) });
    this.#flushControls();
  }

  #flushControls(): void {
    if (this.#ws.readyState !== WebSocket.OPEN || this.#reconnecting) return;
    while (this.#controls.length > 0 && this.#controls[0].after <= this.#sent) {
      this.#ws.send(this.#controls.shift()!.text);
      this.#idle = false;
    }
  }

  #sendText(message: ControlMessage): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(JSON.stringify(message));
    this.#idle = false;
  }

  #startKeepAlive(interval: number): void {
    clearInterval(this.#keepAliveTimer);
    this.#keepAliveTimer = setInterval(() => {
      if (this.#idle) this.#sendText({ type: 'KeepAlive' });
      this.#idle = true;
    }, interval).unref();
  }

  #stopTimers(): void {
    clearTimeout(this.#connectTimer);
    clearInterval(this.#keepAliveTimer);
    clearTimeout(this.#closeTimer);
  }
}

/** Opens a `/v1/listen` session as a Duplex. Options that can never work throw before connecting. */
export function createListenStream(options: ListenStreamOptions = {}): ListenStream {
  return new ListenStream(options);
}
