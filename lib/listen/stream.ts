// The listen Duplex: audio bytes in as binary frames, server messages out as typed objects, over a socket that the
// reconnect layer may replace. Backpressure both ways: a write completes once the socket's buffer is under the
// mark, and the socket is paused while the readable side is full.
import { Duplex, addAbortSignal } from 'node:stream';
import WebSocket from 'ws';
import { DeepgramError } from './errors.js';
import { ControlQueue, Idle } from './controls.js';
import { Link } from './link.js';
import { listenSettings, type ListenSettings, type ListenStreamOptions, type SessionOptions } from './options.js';
import type { ListenProtocol } from './protocol.js';
import type { ReconnectEvent } from './reconnect.js';
import type { ControlMessage, MetadataMessage, ServerMessage } from '../protocol/messages.js';
import type { SessionMessage } from '../protocol/flux.js';

export { DEFAULT_URL } from './connection.js';
export type { ListenStreamOptions } from './options.js';
export type { ReconnectEvent, ReconnectOptions } from './reconnect.js';

type Callback = (error?: Error | null) => void;

/** Sends any control message in order with the audio: for the Flux stream, which speaks its own controls. */
export const kControl = Symbol('control');
/** Text frames a reconnected session needs before its replayed audio: for the Flux stream's configuration. */
export const kBeforeReplay = Symbol('beforeReplay');

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
  readonly #link: Link;
  #metadata?: MetadataMessage;
  /** A write or the final that waits for a socket to open (or for the close code to decide). */
  #whenOpen?: () => void;
  #waitingWrite?: Callback;
  /** Bytes handed to the socket, and bytes whose write has completed. */
  #sent = 0;
  #completed = 0;
  #closeSent = false;
  #readPaused = false;

  constructor(options: SessionOptions<object> = {}, protocol?: ListenProtocol) {
    super({
      readableObjectMode: true,
      allowHalfOpen: true,
      writableHighWaterMark: options.highWaterMark,
      readableHighWaterMark: options.readableHighWaterMark,
    });
    this.#settings = listenSettings(options, protocol);
    this.#link = new Link(this.#settings, {
      open: (again) => this.#open(again),
      beforeReplay: () => this[kBeforeReplay](),
      message: (message) => this.#message(message),
      end: (metadata) => this.#end(metadata),
      failed: (error) => this.destroy(error),
      reconnect: (event) => this.emit('reconnect', event),
    });
    if (options.signal) addAbortSignal(options.signal, this);
  }

  [kBeforeReplay]: () => string[] = () => [];

  /** `dg-request-id` of the current session, once the upgrade has answered. */
  get requestId(): string | undefined {
    return this.#link.requestId;
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

  #open(again: boolean): void {
    if (again && this.#closeSent) this.#sendCloseStream();
    const { keepAlive, protocol } = this.#settings;
    const frame = protocol.keepAlive === 'ping' ? 'ping' : protocol.keepAlive.text;
    if (keepAlive !== false && !this.#closeSent) this.#idle.start(keepAlive, () => this.#send(frame));
    this.#flushControls();
    this.#resumeWaiting();
    this.#onSent();
  }

  #resumeWaiting(): void {
    const pending = this.#whenOpen;
    this.#whenOpen = undefined;
    pending?.();
  }

  #message(received: SessionMessage): void {
    const message = this.#settings.reconnect ? this.#settings.reconnect.receive(received) : received;
    if (message && !this.push(message)) this.#pauseReading();
  }

  #end(metadata: MetadataMessage | undefined): void {
    this.#idle.stop();
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

  /** Held while connecting, reconnecting or closing: the close code decides between a new socket and an error. */
  #mustWait(): boolean {
    const state = this.#link.ws.readyState;
    return state === WebSocket.CONNECTING || state === WebSocket.CLOSING || this.#link.reconnecting;
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: Callback): void {
    this._writev([{ chunk, encoding }], callback);
  }

  /** Chunks buffered while the socket was busy go out together, each its own frame, with one completion. */
  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: Callback): void {
    if (this.#mustWait()) return void (this.#whenOpen = () => this._writev(chunks, callback));
    if (this.#link.ws.readyState !== WebSocket.OPEN)
      return callback(new DeepgramError('DG_CLOSED', 'the session is closed; this audio was not sent'));
    let bytes = 0;
    for (const { chunk } of chunks) {
      if (chunk.length === 0) continue; // an empty binary frame means CloseStream to the server: never send one
      bytes += chunk.length;
      this.#sent += chunk.length;
      this.#settings.reconnect?.sent(chunk);
      this.#link.ws.send(chunk, { binary: true }, this.#onSent);
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
    if (this.#waitingWrite && !this.#link.reconnecting && this.#link.ws.bufferedAmount <= this.writableHighWaterMark)
      this.#waitingWrite();
  };

  override _final(callback: Callback): void {
    if (this.#mustWait()) return void (this.#whenOpen = () => this._final(callback));
    if (this.#link.ws.readyState === WebSocket.OPEN) {
      this.#flushControls();
      this.#closeSent = true;
      this.#sendCloseStream();
    }
    callback();
  }

  #sendCloseStream(): void {
    this.#send(this.#settings.protocol.closeStream);
    this.#idle.stop();
    this.#link.closing();
  }

  #pauseReading(): void {
    this.#readPaused = true;
    this.#link.pause(true);
  }

  override _read(): void {
    if (!this.#readPaused) return;
    this.#readPaused = false;
    this.#link.pause(false);
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#idle.stop();
    this.#whenOpen = undefined;
    this.#controls.clear();
    this.#link.destroy(); // torn down at once, with no CloseStream: destroy() means stop now
    callback(error);
  }

  /**
   * A control message of another protocol (Flux's), sent in order with the audio written before it; `ahead` is
   * audio bytes the caller still holds and will write before any other.
   */
  [kControl](message: { type: string }, ahead: number): void {
    this.#control(message, ahead);
  }

  #control(message: ControlMessage | { type: string }, ahead = 0): void {
    if (this.#closeSent || this.destroyed)
      throw new DeepgramError('DG_CLOSED', `${message.type} after CloseStream: the session is closing`);
    this.#controls.add(this.#completed + this.writableLength + ahead, JSON.stringify(message));
    this.#flushControls();
  }

  #flushControls(): void {
    if (this.#link.ws.readyState !== WebSocket.OPEN || this.#link.reconnecting) return;
    for (const text of this.#controls.due(this.#sent)) this.#send(text);
  }

  #send(frame: string): void {
    if (this.#link.send(frame)) this.#idle.touch();
  }
}

/** Opens a `/v1/listen` session as a Duplex. Options that can never work throw before connecting. */
export function createListenStream(options: ListenStreamOptions = {}): ListenStream {
  return new ListenStream(options);
}
