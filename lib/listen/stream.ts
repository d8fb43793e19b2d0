// The listen Duplex: audio bytes in as binary frames, server messages out as typed objects, over a socket that the
// reconnect layer may replace. Backpressure both ways: a write completes once the socket's buffer is under the
// mark, and the socket is paused while the readable side is full.
import { Duplex, addAbortSignal } from 'node:stream';
import { debuglog } from 'node:util';
import WebSocket from 'ws';
import { DeepgramError } from './errors.js';
import { closeError, dial, header } from './connection.js';
import { ControlQueue, Idle } from './controls.js';
import { listenSettings, type ListenSettings, type ListenStreamOptions } from './options.js';
import type { ReconnectEvent } from './reconnect.js';
import { CLOSE_NORMAL, type ControlMessage, type MetadataMessage, type ServerMessage } from '../protocol/messages.js';
import { isMetadata, parseServerMessage } from '../protocol/guards.js';

export { DEFAULT_URL } from './connection.js';
export type { ListenStreamOptions } from './options.js';
export type { ReconnectEvent, ReconnectOptions } from './reconnect.js';

/** `NODE_DEBUG=deepgram-stream` shows connects, closes and reconnects (never the key). */
const debug = debuglog('deepgram-stream');

type Callback = (error?: Error | null) => void;

export interface ListenStream {
  on(event: 'data', listener: (message: ServerMessage) => void): this;
  on(event: 'metadata', listener: (metadata: MetadataMessage) => void): this;
  on(event: 'reconnect', listener: (event: ReconnectEvent) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'metadata', listener: (metadata: MetadataMessage) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  [Symbol.asyncIterator](): AsyncIterableIterator<ServerMessage>;
}

/** A Duplex over one `/v1/listen` session; `end()` sends CloseStream after the last audio. */
export class ListenStream extends Duplex {
  readonly #settings: ListenSettings;
  readonly #controls = new ControlQueue();
  readonly #idle = new Idle();
  #ws!: WebSocket;
  /** Sockets given up on: their late events (a close after a refused handshake) must not act twice. */
  #retired = new WeakSet<WebSocket>();
  #requestId?: string;
  #metadata?: MetadataMessage;
  /** Metadata comes just before the close; whether it ends the stream depends on the close code. */
  #heldMetadata?: MetadataMessage;
  /** A write or the final that waits for a socket to open (or for the close code to decide). */
  #whenOpen?: () => void;
  #waitingWrite?: Callback;
  /** Bytes handed to the socket, and bytes whose write has completed. */
  #sent = 0;
  #completed = 0;
  #closeSent = false;
  #readPaused = false;
  #opened = false;
  #reconnecting = false;
  #timers: { connect?: NodeJS.Timeout; close?: NodeJS.Timeout; reconnect?: NodeJS.Timeout } = {};

  constructor(options: ListenStreamOptions = {}) {
    super({
      readableObjectMode: true, allowHalfOpen: true,
      writableHighWaterMark: options.highWaterMark, readableHighWaterMark: options.readableHighWaterMark,
    });
    this.#settings = listenSettings(options);
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
    const timeout = this.#settings.connectTimeout;
    const ws: WebSocket = (this.#ws = dial(this.#settings.endpoint, {
      // A socket that has been given up on, replaced or torn down says nothing more.
      current: () => ws === this.#ws && !this.#retired.has(ws) && !this.destroyed,
      upgrade: (res) => (this.#requestId = header(res, 'dg-request-id')),
      refused: (error) => (this.#reconnecting && (error.status ?? 0) >= 500
        ? this.#retry(ws, 1006, `handshake answered ${error.status}`) : this.#fail(ws, error)),
      open: () => this.#open(),
      message: (data, isBinary) => this.#message(data, isBinary),
      close: (code, reason) => this.#closed(code, reason),
      // An error is followed by a close, which decides between reconnecting and failing; before any open there
      // is nothing to reconnect, so it fails at once.
      error: (error) => !(this.#settings.reconnect && this.#opened) && this.#fail(ws, error),
    }));
    if (this.#readPaused) ws.pause();
    debug('connecting');
    this.#timers.connect = setTimeout(() => {
      if (this.#reconnecting) return this.#retry(ws, 1006, `no upgrade within ${timeout} ms`);
      ws.terminate();
      this.#fail(ws, new DeepgramError('DG_CONNECT_TIMEOUT', `no upgrade from the server within ${timeout} ms`));
    }, timeout);
  }

  #open(): void {
    clearTimeout(this.#timers.connect);
    this.#opened = true;
    debug('open, request %s', this.#requestId);
    if (this.#reconnecting) {
      this.#reconnecting = false;
      const chunks = this.#settings.reconnect!.replay();
      for (const chunk of chunks) this.#ws.send(chunk, { binary: true });
      debug('replayed %d bytes', chunks.reduce((n, c) => n + c.length, 0));
      if (this.#closeSent) this.#sendCloseStream();
    }
    const { keepAlive } = this.#settings;
    if (keepAlive !== false && !this.#closeSent) this.#idle.start(keepAlive, () => this.#sendText({ type: 'KeepAlive' }));
    this.#flushControls();
    this.#resumeWaiting();
    this.#onSent();
  }

  #resumeWaiting(): void {
    const pending = this.#whenOpen;
    this.#whenOpen = undefined;
    pending?.();
  }

  #message(data: Buffer, isBinary: boolean): void {
    this.#armCloseTimer();
    const text = data.toString('utf8');
    // Refused where it enters: no transform downstream ever meets a missing field or a NaN time.
    const parsed = isBinary ? { problem: 'a binary frame' } : parseServerMessage(text);
    if ('problem' in parsed) {
      this.destroy(new DeepgramError('DG_PROTOCOL', `the server sent a frame that is not a valid message (${parsed.problem})`,
        { raw: text.slice(0, 65536), requestId: this.#requestId }));
    } else if (isMetadata(parsed.message)) {
      this.#heldMetadata = parsed.message;
    } else {
      const message = this.#settings.reconnect ? this.#settings.reconnect.receive(parsed.message) : parsed.message;
      if (message && !this.push(message)) this.#pauseReading();
    }
  }

  #closed(code: number, reason: string): void {
    this.#stopTimers();
    const metadata = this.#heldMetadata;
    this.#heldMetadata = undefined;
    debug('closed %d %s', code, reason);
    if (code !== CLOSE_NORMAL) {
      const refused = this.#settings.reconnect?.refusal(code);
      if (this.#settings.reconnect && refused === undefined) return this.#retry(this.#ws, code, reason);
      return this.#fail(this.#ws, closeError(code, reason, { metadata, requestId: this.#requestId }, refused));
    }
    if (metadata) {
      // After reconnects, its duration and hash cover the whole stream, not the last session.
      this.#metadata = this.#settings.reconnect ? this.#settings.reconnect.finish(metadata) : metadata;
      this.emit('metadata', this.#metadata);
      this.push(this.#metadata);
    }
    this.push(null);
    // Audio still queued can never be sent now: fail it rather than wait forever.
    this.#waitingWrite?.(new DeepgramError('DG_CLOSED', 'the server closed the session before this audio was sent'));
    this.#resumeWaiting();
  }

  #retry(ws: WebSocket, code: number, reason: string): void {
    const refused = this.#settings.reconnect!.refusal(code);
    if (refused !== undefined) return this.#fail(ws, closeError(code, reason, { requestId: this.#requestId }, refused));
    this.#retired.add(ws);
    this.#stopTimers();
    this.#reconnecting = true;
    const { attempt, delay } = this.#settings.reconnect!.next();
    debug('reconnecting after %d in %d ms (attempt %d)', code, delay, attempt);
    this.emit('reconnect', { attempt, code, reason, delay } satisfies ReconnectEvent);
    ws.terminate();
    this.#timers.reconnect = setTimeout(() => this.#connect(), delay);
  }

  #fail(ws: WebSocket, error: Error): void {
    if (ws !== this.#ws || this.#retired.has(ws)) return;
    this.#retired.add(ws);
    this.destroy(error);
  }

  /** Held while connecting, reconnecting or closing: the close code decides between a new socket and an error. */
  #mustWait(): boolean {
    return this.#ws.readyState === WebSocket.CONNECTING || this.#ws.readyState === WebSocket.CLOSING || this.#reconnecting;
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: Callback): void {
    this._writev([{ chunk, encoding }], callback);
  }

  /** Chunks buffered while the socket was busy go out together, each its own frame, with one completion. */
  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: Callback): void {
    if (this.#mustWait()) return void (this.#whenOpen = () => this._writev(chunks, callback));
    if (this.#ws.readyState !== WebSocket.OPEN) return callback(new DeepgramError('DG_CLOSED', 'the session is closed; this audio was not sent'));
    let bytes = 0;
    for (const { chunk } of chunks) {
      if (chunk.length === 0) continue; // an empty binary frame means CloseStream to the server: never send one
      bytes += chunk.length;
      this.#sent += chunk.length;
      this.#settings.reconnect?.sent(chunk);
      this.#ws.send(chunk, { binary: true }, this.#onSent);
      if (this.#controls.length > 0) this.#flushControls();
    }
    this.#idle.touch();
    this.#waitingWrite = (error?: Error | null) => {
      this.#waitingWrite = undefined;
      this.#completed += bytes;
      callback(error);
    };
    this.#onSent();
  }

  /** A write completes once the socket's own buffer is under the mark. Send errors end in a close, handled there. */
  #onSent = (): void => {
    if (this.#waitingWrite && !this.#reconnecting && this.#ws.bufferedAmount <= this.writableHighWaterMark) this.#waitingWrite();
  };

  override _final(callback: Callback): void {
    if (this.#mustWait()) return void (this.#whenOpen = () => this._final(callback));
    if (this.#ws.readyState === WebSocket.OPEN) {
      this.#flushControls();
      this.#closeSent = true;
      this.#sendCloseStream();
    }
    callback();
  }

  #sendCloseStream(): void {
    this.#sendText({ type: 'CloseStream' });
    this.#idle.stop();
    this.#armCloseTimer();
  }

  /** After CloseStream the server has `closeTimeout` ms to speak; time while this stream is not reading is not counted. */
  #armCloseTimer(): void {
    clearTimeout(this.#timers.close);
    if (!this.#closeSent || this.#readPaused || this.destroyed) return;
    const ms = this.#settings.closeTimeout;
    this.#timers.close = setTimeout(() => this.destroy(new DeepgramError('DG_CLOSE_TIMEOUT',
      `the server did not close within ${ms} ms of its last message after CloseStream`,
      { requestId: this.#requestId, metadata: this.#heldMetadata })), ms);
  }

  #pauseReading(): void {
    this.#readPaused = true;
    this.#ws.pause();
    clearTimeout(this.#timers.close);
  }

  override _read(): void {
    if (!this.#readPaused) return;
    this.#readPaused = false;
    if (this.#ws.isPaused) this.#ws.resume();
    this.#armCloseTimer();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#stopTimers();
    clearTimeout(this.#timers.reconnect);
    this.#whenOpen = undefined;
    this.#controls.clear();
    // Torn down at once, with no CloseStream: destroy() means stop now.
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.terminate();
    callback(error);
  }

  #control(message: ControlMessage): void {
    if (this.#closeSent || this.destroyed) throw new DeepgramError('DG_CLOSED', `${message.type} after CloseStream: the session is closing`);
    this.#controls.add(this.#completed + this.writableLength, JSON.stringify(message));
    this.#flushControls();
  }

  #flushControls(): void {
    if (this.#ws.readyState !== WebSocket.OPEN || this.#reconnecting) return;
    for (const text of this.#controls.due(this.#sent)) {
      this.#ws.send(text);
      this.#idle.touch();
    }
  }

  #sendText(message: ControlMessage): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(JSON.stringify(message));
    this.#idle.touch();
  }

  #stopTimers(): void {
    clearTimeout(this.#timers.connect);
    clearTimeout(this.#timers.close);
    this.#idle.stop();
  }
}

/** Opens a `/v1/listen` session as a Duplex. Options that can never work throw before connecting. */
export function createListenStream(options: ListenStreamOptions = {}): ListenStream {
  return new ListenStream(options);
}
