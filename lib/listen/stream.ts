// The session Duplex: audio bytes in as binary frames, server messages out as typed objects, over a socket that the
// reconnect layer may replace. Backpressure both ways: a write completes once the socket's buffer is under the
// mark, and the socket is paused while the readable side is full. /v1 and Flux are this one stream with their
// protocol and its policy (listen.ts, flux.ts).
import type { Hash } from 'node:crypto';
import { Socket } from 'node:net';
import { Duplex, addAbortSignal } from 'node:stream';
import WebSocket from 'ws';
import { DeepgramError } from './errors.js';
import { ControlQueue, Idle, type IdleHost } from './controls.js';
import { Link, type LinkEvents } from './link.js';
import { listenSettings, type ListenSettings, type SessionOptions } from './options.js';
import type { ListenProtocol, SessionHost, SessionPolicy } from './protocol.js';
import type { Reconnect, ReconnectEvent } from './reconnect.js';
import type { MetadataMessage } from '../protocol/messages.js';
import type { SessionMessage } from '../protocol/flux.js';

type Callback = (error?: Error | null) => void;

/** The most a WebSocket frame adds to its payload (a masked frame with a 64-bit length). */
const FRAME_HEADER = 14;

/** What the `open` event tells: a socket is open (again, after a reconnect, once the replayed audio is sent). */
export interface OpenEvent {
  requestId: string | undefined;
  reconnected: boolean;
}

export interface SessionStream<M extends SessionMessage, D extends M> {
  on(event: 'data', listener: (message: M) => void): this;
  on(event: 'metadata', listener: (metadata: D) => void): this;
  on(event: 'reconnect', listener: (event: ReconnectEvent) => void): this;
  on(event: 'open', listener: (event: OpenEvent) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'metadata', listener: (metadata: D) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  [Symbol.asyncIterator](): AsyncIterableIterator<M>;
}

/**
 * The one session Duplex, whatever the protocol: `M` is what it reads out, `D` its last message. The protocol's
 * policy decides what a session does at its fixed points (a message, a reconnect, the end, the Metadata).
 */
export class SessionStream<M extends SessionMessage, D extends M> extends Duplex {
  // What a write reads comes first, in the stream itself, in the order it reads it: at a thousand streams, each object
  // a write reaches is a cache miss, and costs more than the code that reads it.
  /** The tick of the last write that went to the socket directly (ticks are counted from the first). */
  #wroteIn = -1;
  /**
   * Whether Node's writable side may hold audio, or be ending or corked: a write went through it, or end() or cork()
   * was called. Its state is read only while this is set, until it is found to hold nothing: read on every write, a
   * thousand streams' states cost a cache miss each, as much again as the rest of a direct write.
   */
  #mayHold = false;
  /** The writable side's mark, fixed as it is made: read on every write, kept here for the same reason. */
  readonly #mark: number;
  /**
   * The socket of the last open, for the writes that go to it directly while it is open: the link closes a socket
   * before it replaces it, so an open one is the link's current socket.
   */
  #ws?: WebSocket;
  /** Bytes handed to the socket, and bytes whose write has completed. */
  #sent = 0;
  #completed = 0;
  /** Frames that went out, audio or text: what tells the idle watch that something did. */
  #frames = 0;
  /** The sha256 of the audio sent, kept when a Metadata says it; the reconnect layer, when there is one. */
  readonly #hash?: Hash;
  readonly #reconnect?: Reconnect;
  readonly #link: Link;
  #waitingWrite?: Callback;
  #waitingBytes = 0;
  /** Made when first needed: most live streams never send a control, and every object a stream holds slows them all. */
  #controls?: ControlQueue;
  /** `ws`'s callback for a frame that does not complete at once (made once a write needs it: at full speed). */
  #onSent?: () => void;
  readonly #settings: ListenSettings;
  readonly #policy: SessionPolicy<D>;
  readonly #idle: Idle;
  #metadata?: D;
  /** A write or the final that waits for a socket to open (or for the close code to decide). */
  #whenOpen?: () => void;
  #sha256?: string;
  #closeSent = false;

  constructor(options: SessionOptions<object>, protocol: ListenProtocol<D>, policy?: SessionPolicy<D>) {
    super({
      readableObjectMode: true,
      allowHalfOpen: true,
      writableHighWaterMark: options.highWaterMark,
      readableHighWaterMark: options.readableHighWaterMark,
    });
    this.#mark = this.writableHighWaterMark;
    this.#policy = policy ?? protocol.policy();
    this.#settings = listenSettings(options, protocol, this.#policy.hashes);
    this.#hash = this.#settings.hash;
    this.#reconnect = this.#settings.reconnect;
    const face = new SessionStream.#Face<M, D>(this);
    this.#idle = new Idle(face);
    this.#policy.attach?.(face);
    this.#link = new Link(this.#settings, face);
    if (options.signal) addAbortSignal(options.signal, this);
  }

  /**
   * The stream as its link and its policy see it: one object whose methods reach the stream's private state (a class
   * in this class's body may), not a closure for each event and each request in every stream.
   */
  static readonly #Face = class Face<M extends SessionMessage, D extends M>
    implements LinkEvents, SessionHost, IdleHost
  {
    constructor(readonly stream: SessionStream<M, D>) {}
    open(again: boolean): void {
      this.stream.#open(again);
    }
    beforeReplay(): string[] {
      return this.stream.#policy.beforeReplay();
    }
    message(message: SessionMessage): void {
      this.stream.#message(message);
    }
    end(metadata: MetadataMessage | undefined): void {
      this.stream.#end(metadata);
    }
    failed(error: Error): void {
      this.stream.destroy(error);
    }
    reconnect(event: ReconnectEvent): void {
      this.stream.#policy.reconnected();
      this.stream.emit('reconnect', event);
    }
    query(): URLSearchParams {
      return new URL(this.stream.#settings.endpoint.url).searchParams;
    }
    requestId(): string | undefined {
      return this.stream.requestId;
    }
    audioSent(): number | undefined {
      const rate = this.stream.#settings.bytesPerSecond;
      return rate ? this.stream.#sent / rate : undefined;
    }
    closing(): boolean {
      return this.stream.#closeSent;
    }
    audio(): { bytes: number; sha256: string } {
      return { bytes: this.stream.#sent, sha256: this.stream.#digest() };
    }
    control(message: { type: string; [field: string]: unknown }): void {
      this.stream.sendControl(message);
    }
    deadline(ms: number, expired: () => void): void {
      this.stream.#link.deadline(ms, expired);
    }
    warn(warning: { code: string; description: string }): void {
      this.stream.emit('warning', warning);
    }
    finish(last?: SessionMessage): void {
      this.stream.#link.destroy();
      if (last) this.stream.push(last);
      this.stream.#end(undefined);
    }
    activity(): number {
      return this.stream.#frames;
    }
    idle(): void {
      const { keepAlive } = this.stream.#settings.protocol;
      this.stream.#send(keepAlive === 'ping' ? 'ping' : keepAlive.text);
    }
  };

  /** `dg-request-id` of the current session, once the upgrade has answered. */
  get requestId(): string | undefined {
    return this.#link.requestId;
  }

  /** The session's Metadata, once the server has closed normally. */
  get metadata(): D | undefined {
    return this.#metadata;
  }

  #open(again: boolean): void {
    if (again && this.#closeSent) this.#sendCloseStream();
    const { keepAlive } = this.#settings;
    if (keepAlive !== false && !this.#closeSent) this.#idle.start(keepAlive);
    this.#flushControls(); // made before the open: they go before what the event's listeners write
    this.#ws = this.#link.ws;
    this.emit('open', { requestId: this.requestId, reconnected: again });
    this.#resumeWaiting();
    this.#frameSent();
  }

  #resumeWaiting(): void {
    const pending = this.#whenOpen;
    this.#whenOpen = undefined;
    pending?.();
  }

  #message(received: SessionMessage): void {
    const timed = this.#reconnect ? this.#reconnect.receive(received) : received;
    const message = timed && this.#policy.message(timed);
    if (message && !this.push(message)) this.#link.pause(true);
  }

  #end(server: MetadataMessage | undefined): void {
    this.#idle.stop();
    // After reconnects, its duration and hash cover the whole stream, not the last session.
    const reconnect = this.#reconnect;
    const metadata = this.#policy.metadata(
      server && reconnect ? reconnect.finish(server, () => this.#digest()) : server,
    );
    if (metadata) {
      this.#metadata = metadata;
      this.emit('metadata', metadata);
      this.push(metadata);
    }
    this.push(null);
    // Audio still queued can never be sent now: fail it rather than wait forever.
    if (this.#waitingWrite)
      this.#completeWrite(new DeepgramError('DG_CLOSED', 'the server closed the session before this audio was sent'));
    this.#resumeWaiting();
  }

  /** The sha256 of the audio sent (kept after a reconnect, or for a protocol that makes its own Metadata). */
  #digest(): string {
    return (this.#sha256 ??= this.#hash?.digest('hex') ?? '');
  }

  /** Held while connecting, reconnecting or closing: the close code decides between a new socket and an error. */
  #mustWait(): boolean {
    const state = this.#link.ws.readyState;
    return state === WebSocket.CONNECTING || state === WebSocket.CLOSING || this.#link.reconnecting;
  }

  /**
   * A write the socket can take now goes straight to it, as a `ws` send does, with none of Node's write bookkeeping (a
   * pending count, a completion, a second visit to the stream at the tick's end): at a thousand live streams that
   * costs more than the frame. Only a Buffer with no callback, while Node's write holds nothing; anything else is
   * Node's write, so its order, backpressure and errors stand.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | Callback, callback?: Callback): boolean {
    const ws = encoding === undefined && callback === undefined && Buffer.isBuffer(chunk) && this.#takes(chunk.length);
    if (ws) {
      this.#completed += this.#send1(ws, chunk, true);
      return true;
    }
    if (encoding === undefined) return super.write(chunk, callback);
    return typeof encoding === 'function' ? super.write(chunk, encoding) : super.write(chunk, encoding, callback);
  }

  /**
   * The socket a write may go to directly, if it may: the first of its tick (the writes after it in the tick, a source
   * read at full speed, wait for its end and go together, corked, in `_writev`), to an open socket with room under the
   * mark, on a writable side that holds nothing and is not ending (destroyed, it has closed its socket). No control
   * frame can be due then: one queued behind nothing goes out as it is queued, or as the socket opens.
   */
  #takes(bytes: number): WebSocket | undefined {
    const ws = this.#ws;
    if (this.#wroteIn === SessionStream.#ticks || ws?.readyState !== WebSocket.OPEN) return undefined;
    if (this.#mayHold && this.#holds()) return undefined;
    if (!this.#fits(ws, bytes + FRAME_HEADER)) return undefined;
    SessionStream.#tickEnding(); // this tick's end, due now, is what moves the tick count on
    this.#wroteIn = SessionStream.#ticks;
    return ws;
  }

  /** Node's writable side holds audio, is ending or corked; once found holding nothing, not read until it may. */
  #holds(): boolean {
    if (this.writableEnded || this.writableLength > 0 || this.writableCorked > 0) return true;
    this.#mayHold = false;
    return false;
  }

  override cork(): void {
    this.#mayHold = true;
    super.cork();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: Callback): void {
    this.#mayHold = true;
    const ws = this.#link.ws;
    if (ws.readyState !== WebSocket.OPEN) return this.#notOpen([{ chunk, encoding }], callback);
    const atOnce = this.#fits(ws, chunk.length + FRAME_HEADER);
    this.#await(this.#sendQueued(ws, chunk, atOnce), callback, atOnce);
  }

  /** Chunks buffered (the socket was busy, or in one tick) go out together, each its own frame, one completion. */
  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: Callback): void {
    this.#mayHold = true;
    const ws = this.#link.ws;
    if (ws.readyState !== WebSocket.OPEN) return this.#notOpen(chunks, callback);
    const atOnce = this.#fits(
      ws,
      chunks.reduce((sum, { chunk }) => sum + chunk.length + FRAME_HEADER, 0),
    );
    // Corked, the socket writes the frames in one call. `_socket` is `ws`'s own field: were it gone, no cork, no harm.
    const socket: unknown = Reflect.get(ws, '_socket');
    if (socket instanceof Socket) socket.cork();
    let bytes = 0;
    for (const { chunk } of chunks) bytes += this.#sendQueued(ws, chunk, atOnce);
    if (socket instanceof Socket) socket.uncork();
    this.#await(bytes, callback, atOnce);
  }

  /**
   * Whether frames of `bytes` complete at the end of this tick, as a write to a `ws` does at once: when the socket
   * holds nothing and they fit under the mark. Else `ws`'s send callback completes them.
   */
  #fits(ws: WebSocket, bytes: number): boolean {
    return ws.bufferedAmount === 0 && bytes <= this.#mark;
  }

  /**
   * Audio for a socket that is not open: it waits for one (connecting, reconnecting, or closing while the close code
   * decides), or fails if none will come. Its own method, so that the writes' own scope holds no closure.
   */
  #notOpen(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: Callback): void {
    if (this.#mustWait()) this.#whenOpen = () => this._writev(chunks, callback);
    else callback(new DeepgramError('DG_CLOSED', 'the session is closed; this audio was not sent'));
  }

  /** One audio frame to the socket (nothing is allocated per frame: writes are the hot path); its bytes. */
  #send1(ws: WebSocket, chunk: Buffer, atOnce: boolean): number {
    if (chunk.length === 0) return 0; // an empty binary frame means CloseStream to the server: never send one
    this.#sent += chunk.length;
    this.#frames++;
    this.#hash?.update(chunk);
    this.#reconnect?.sent(chunk);
    // A Buffer goes as a binary frame: no options object for ws to copy on every frame.
    ws.send(chunk, atOnce ? undefined : (this.#onSent ??= () => this.#frameSent()));
    return chunk.length;
  }

  /** A frame of the audio Node's write held, then the control frames due after it. */
  #sendQueued(ws: WebSocket, chunk: Buffer, atOnce: boolean): number {
    const bytes = this.#send1(ws, chunk, atOnce);
    if (this.#controls && this.#controls.next <= this.#sent) this.#flushControls();
    return bytes;
  }

  #await(bytes: number, callback: Callback, atOnce: boolean): void {
    this.#waitingBytes = bytes;
    this.#waitingWrite = callback;
    // Nothing went out: done now. Frames that fit: done at the tick's end. Else ws's send callback says when.
    if (bytes === 0) this.#completeWrite();
    else if (atOnce) this.#completeAtTickEnd();
  }

  /**
   * A write that went out completes at the end of its tick, one tick for every stream: until then the writes that
   * follow it in the tick (a source read at full speed) wait, and then go to the socket together, in `_writev`.
   */
  #completeAtTickEnd(): void {
    SessionStream.#tickEnding().push(this);
  }

  /** Streams whose write went out in this tick, to complete at its end; and the ticks ended so far. */
  static #ending?: SessionStream<SessionMessage, SessionMessage>[];
  static #ticks = 0;

  /** The streams to complete at this tick's end, whose end is now due: one nextTick a tick for every stream. */
  static #tickEnding(): SessionStream<SessionMessage, SessionMessage>[] {
    if (!SessionStream.#ending) {
      SessionStream.#ending = [];
      process.nextTick(SessionStream.#tickEnded);
    }
    return SessionStream.#ending;
  }

  static #tickEnded(): void {
    const streams = SessionStream.#ending ?? [];
    SessionStream.#ending = undefined;
    SessionStream.#ticks++;
    for (const stream of streams) stream.#completeWrite();
  }

  /**
   * Called by `ws` as each frame of a write not completed at once reaches the socket: done once the socket's buffer is
   * under the mark (done whatever it held, V8 grew its young generation at full speed). Send errors end in a close.
   */
  #frameSent(): void {
    if (this.#waitingWrite && !this.#link.reconnecting && this.#link.ws.bufferedAmount <= this.#mark)
      this.#completeWrite();
  }

  #completeWrite(error?: Error): void {
    const callback = this.#waitingWrite;
    this.#waitingWrite = undefined;
    this.#completed += this.#waitingBytes;
    this.#waitingBytes = 0;
    callback?.(error);
  }

  override _final(callback: Callback): void {
    this.#mayHold = true; // ending: what is written after end() must meet Node's error
    if (this.#mustWait()) return void (this.#whenOpen = () => this._final(callback));
    this.#policy.ending(() => this.#close(callback));
  }

  /** CloseStream, after any control still due. */
  #close(callback: Callback): void {
    if (this.#mustWait()) return void (this.#whenOpen = () => this.#close(callback));
    if (this.#link.ws.readyState === WebSocket.OPEN && !this.#closeSent) {
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

  override _read(): void {
    if (this.#link.paused) this.#link.pause(false);
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#idle.stop();
    this.#whenOpen = undefined;
    this.#controls = undefined;
    this.#policy.destroyed();
    this.#link.destroy(); // torn down at once, with no CloseStream: destroy() means stop now
    callback(error);
  }

  /** A control frame, sent in order with the audio written before it: at once if that has all gone out. */
  protected sendControl(message: { type: string; [field: string]: unknown }): void {
    if (this.#closeSent || this.destroyed)
      throw new DeepgramError('DG_CLOSED', `${message.type} after CloseStream: the session is closing`);
    const after = this.#completed + this.writableLength;
    const text = JSON.stringify(message);
    // With none waiting, one whose audio is out needs no queue (the end's ForceEndTurn, most of a session's controls).
    const waiting = this.#controls !== undefined && this.#controls.next !== Infinity;
    if (!waiting && after <= this.#sent && this.#canSend()) return this.#send(text);
    (this.#controls ??= new ControlQueue()).add(after, text);
    this.#flushControls();
  }

  /** Frames may go to the socket: it is open, and not the one a reconnect is replacing. */
  #canSend(): boolean {
    return this.#link.ws.readyState === WebSocket.OPEN && !this.#link.reconnecting;
  }

  #flushControls(): void {
    const controls = this.#controls;
    if (!controls || !this.#canSend()) return;
    for (let text = controls.shift(this.#sent); text !== undefined; text = controls.shift(this.#sent)) this.#send(text);
  }

  #send(frame: string): void {
    if (this.#link.send(frame)) this.#frames++;
  }
}
