import { Duplex, addAbortSignal } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { DeepgramError } from './errors.js';
import { checkQuery, toSearchParams, type ListenQuery } from '../protocol/options.js';
import {
  CLOSE_NORMAL, describeClose,
  type ControlMessage, type MetadataMessage, type ServerMessage,
} from '../protocol/messages.js';

export const DEFAULT_URL = 'wss://api.deepgram.com';

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
  signal?: AbortSignal;
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
      `ws:// to ${url.hostname} would send the key in clear: use wss://, or set allowInsecure: true`);
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

export interface ListenStream {
  on(event: 'data', listener: (message: ServerMessage) => void): this;
  on(event: 'metadata', listener: (metadata: MetadataMessage) => void): this;
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
  #ws: WebSocket;
  #requestId?: string;
  #metadata?: MetadataMessage;
  /** A write or final that arrived before the socket opened. */
  #whenOpen?: () => void;
  /** Bytes handed to the socket, and bytes whose write has completed. */
  #sent = 0;
  #completed = 0;
  #controls: QueuedControl[] = [];
  #waitingWrite?: (error?: Error | null) => void;
  #closeSent = false;
  #idle = true;
  #keepAliveTimer?: NodeJS.Timeout;
  #connectTimer?: NodeJS.Timeout;
  #closeTimer?: NodeJS.Timeout;
  readonly #closeTimeout: number;

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
    const url = listenUrl(options.url ?? DEFAULT_URL, query, options.allowInsecure ?? false);
    this.#closeTimeout = options.closeTimeout ?? 15_000;
    const auth = authorization(options);
    this.#ws = new WebSocket(url, { headers: auth ? { Authorization: auth } : {}, perMessageDeflate: false });
    this.#listen(options);
    if (options.signal) addAbortSignal(options.signal, this);
  }

  /** `dg-request-id` of this session, once the upgrade has answered. */
  get requestId(): string | undefined {
    return this.#requestId;
  }

  /** The session's Metadata, once the server has sent it. */
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

  #listen(options: ListenStreamOptions): void {
    const ws = this.#ws;
    const connectTimeout = options.connectTimeout ?? 10_000;
    this.#connectTimer = setTimeout(() => {
      this.destroy(new DeepgramError('DG_CONNECT_TIMEOUT', `no upgrade from the server within ${connectTimeout} ms`));
    }, connectTimeout);
    ws.on('upgrade', (res: IncomingMessage) => {
      this.#requestId = header(res, 'dg-request-id');
    });
    ws.on('unexpected-response', (req, res) => this.#refused(req, res));
    ws.on('open', () => {
      clearTimeout(this.#connectTimer);
      if (options.keepAlive !== false) this.#startKeepAlive(options.keepAlive ?? 3000);
      this.#flushControls();
      const pending = this.#whenOpen;
      this.#whenOpen = undefined;
      pending?.();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#message(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.#closed(code, reason.toString()));
    ws.on('error', (error) => this.destroy(error));
  }

  #refused(req: { destroy(): void }, res: IncomingMessage): void {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < 65536) chunks.push(chunk);
      size += chunk.length;
    });
    const fail = () => {
      const status = res.statusCode ?? 0;
      const dgError = header(res, 'dg-error');
      const requestId = header(res, 'dg-request-id');
      const body = Buffer.concat(chunks).toString('utf8').slice(0, 65536);
      const what = dgError ?? (body || res.statusMessage || 'no reason given');
      this.destroy(new DeepgramError('DG_HANDSHAKE',
        `Deepgram refused the connection: ${status} ${what}${requestId ? ` (request ${requestId})` : ''}`,
        { status, dgError, requestId, body }));
      req.destroy();
    };
    res.on('end', fail);
    res.on('error', fail);
  }

  #message(data: Buffer, isBinary: boolean): void {
    if (this.destroyed) return;
    this.#closeTimer?.refresh();
    const text = data.toString('utf8');
    let message: ServerMessage;
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined as never;
    }
    if (isBinary || message === null || typeof message !== 'object' || typeof message.type !== 'string') {
      this.destroy(new DeepgramError('DG_PROTOCOL',
        `the server sent a ${isBinary ? 'binary' : 'text'} frame that is not a JSON message`,
        { raw: text.slice(0, 65536), requestId: this.#requestId }));
      return;
    }
    if (message.type === 'Metadata') {
      this.#metadata = message as MetadataMessage;
      this.emit('metadata', this.#metadata);
    }
    if (!this.push(message)) this.#ws.pause();
  }

  #closed(code: number, reason: string): void {
    this.#stopTimers();
    if (this.destroyed) return;
    if (code === CLOSE_NORMAL) {
      this.push(null);
      // Audio still queued can never be sent now: fail it rather than wait forever.
      this.#whenOpen = undefined;
      this.#waitingWrite?.(new DeepgramError('DG_CLOSED', 'the server closed the session before this audio was sent'));
      return;
    }
    const meaning = describeClose(code, reason);
    this.destroy(new DeepgramError('DG_CLOSE',
      `Deepgram closed the session with ${code}${reason ? ` "${reason}"` : ''}: ${meaning}`,
      { closeCode: code, closeReason: reason, metadata: this.#metadata, requestId: this.#requestId }));
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CONNECTING) {
      this.#whenOpen = () => this._write(chunk, encoding, callback);
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) {
      callback(new DeepgramError('DG_CLOSED', 'the session is closed; this audio was not sent'));
      return;
    }
    // An empty binary frame means CloseStream to the server: never send one.
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.#sent += chunk.length;
    this.#idle = false;
    ws.send(chunk, { binary: true }, this.#onSent);
    this.#flushControls();
    const done = (error?: Error | null) => {
      this.#waitingWrite = undefined;
      this.#completed += chunk.length;
      callback(error);
    };
    if (ws.bufferedAmount <= this.writableHighWaterMark) done();
    else this.#waitingWrite = done;
  }

  #onSent = (error?: Error): void => {
    if (error) {
      this.destroy(error);
      return;
    }
    if (this.#waitingWrite && this.#ws.bufferedAmount <= this.writableHighWaterMark) this.#waitingWrite();
  };

  override _final(callback: (error?: Error | null) => void): void {
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CONNECTING) {
      this.#whenOpen = () => this._final(callback);
      return;
    }
    if (ws.readyState === WebSocket.OPEN) {
      this.#flushControls();
      this.#sendText({ type: 'CloseStream' });
      this.#closeSent = true;
      clearInterval(this.#keepAliveTimer);
      this.#closeTimer = setTimeout(() => {
        this.destroy(new DeepgramError('DG_CLOSE_TIMEOUT',
          `the server did not close within ${this.#closeTimeout} ms of its last message after CloseStream`,
          { requestId: this.#requestId }));
      }, this.#closeTimeout);
    }
    callback();
  }

  override _read(): void {
    if (this.#ws.isPaused) this.#ws.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopTimers();
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
    if (this.#ws.readyState === WebSocket.OPEN) this.#flushControls();
  }

  #flushControls(): void {
    while (this.#controls.length > 0 && this.#controls[0].after <= this.#sent) {
      this.#ws.send(this.#controls.shift()!.text);
      this.#idle = false;
    }
  }

  #sendText(message: ControlMessage): void {
    this.#ws.send(JSON.stringify(message));
    this.#idle = false;
  }

  #startKeepAlive(interval: number): void {
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

function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Opens a `/v1/listen` session as a Duplex. Options that can never work throw before connecting. */
export function createListenStream(options: ListenStreamOptions = {}): ListenStream {
  return new ListenStream(options);
}
