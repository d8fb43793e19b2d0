// The socket under a listen stream, and its replacements: dials, times the upgrade out, says what a refusal or an
// abnormal close means and, with the reconnect layer, dials again after a drop, replaying what it must.
import { debuglog } from 'node:util';
import type WebSocket from 'ws';
import { DeepgramError } from './errors.js';
import { closeError, dial, header } from './connection.js';
import { retryableStatus } from './retry.js';
import type { ListenSettings } from './options.js';
import type { ReconnectEvent } from './reconnect.js';
import type { MetadataMessage } from '../protocol/messages.js';

/** `NODE_DEBUG=deepgram-stream` shows connects, closes and reconnects (never the key). */
export const debug = debuglog('deepgram-stream');

export interface LinkEvents {
  /** A socket is open; `again` after a reconnect, once the replayed audio has been sent. */
  open(again: boolean): void;
  message(data: Buffer, isBinary: boolean): void;
  close(code: number, reason: string): void;
  /** The link is lost for good: the stream fails with this. */
  failed(error: Error): void;
  reconnect(event: ReconnectEvent): void;
}

export class Link {
  readonly #settings: ListenSettings;
  readonly #events: LinkEvents;
  /** Sockets given up on: their late events (a close after a refused handshake) must not act twice. */
  readonly #retired = new WeakSet<WebSocket>();
  #ws!: WebSocket;
  #requestId?: string;
  #opened = false;
  #paused = false;
  #reconnecting = false;
  #connectTimer?: NodeJS.Timeout;
  #reconnectTimer?: NodeJS.Timeout;

  constructor(settings: ListenSettings, events: LinkEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#connect();
  }

  /** The current socket. */
  get ws(): WebSocket {
    return this.#ws;
  }

  get requestId(): string | undefined {
    return this.#requestId;
  }

  /** Between a drop and the new socket's open: writes wait. */
  get reconnecting(): boolean {
    return this.#reconnecting;
  }

  /** Stops (or resumes) reading, this socket and the ones after it. */
  pause(paused: boolean): void {
    this.#paused = paused;
    if (paused) this.#ws.pause();
    else if (this.#ws.isPaused) this.#ws.resume();
  }

  #connect(): void {
    const timeout = this.#settings.connectTimeout;
    const reconnect = this.#settings.reconnect;
    const ws: WebSocket = (this.#ws = dial(this.#settings.endpoint, {
      // A socket that has been given up on or replaced says nothing more.
      current: () => ws === this.#ws && !this.#retired.has(ws),
      upgrade: (res) => (this.#requestId = header(res, 'dg-request-id')),
      refused: (error) => (this.#reconnecting && retryableStatus(error.status ?? 0, true)
        ? this.#retry(1006, `handshake answered ${error.status}`) : this.#fail(error)),
      open: () => this.#open(),
      message: (data, isBinary) => this.#events.message(data, isBinary),
      close: (code, reason) => this.#events.close(code, reason),
      // An error is followed by a close, which decides between reconnecting and failing; before any open there
      // is nothing to reconnect, so it fails at once.
      error: (error) => !(reconnect && this.#opened) && this.#fail(error),
    }));
    if (this.#paused) ws.pause();
    debug('connecting');
    this.#connectTimer = setTimeout(() => {
      if (this.#reconnecting) return this.#retry(1006, `no upgrade within ${timeout} ms`);
      ws.terminate();
      this.#fail(new DeepgramError('DG_CONNECT_TIMEOUT', `no upgrade from the server within ${timeout} ms`));
    }, timeout);
  }

  #open(): void {
    clearTimeout(this.#connectTimer);
    this.#opened = true;
    debug('open, request %s', this.#requestId);
    const again = this.#reconnecting;
    if (again) {
      this.#reconnecting = false;
      const chunks = this.#settings.reconnect!.replay();
      for (const chunk of chunks) this.#ws.send(chunk, { binary: true });
      debug('replayed %d bytes', chunks.reduce((n, c) => n + c.length, 0));
    }
    this.#events.open(again);
  }

  /** An abnormal close: dialled again when the reconnect layer allows it, else the stream fails saying why. */
  lost(code: number, reason: string, metadata?: MetadataMessage): void {
    clearTimeout(this.#connectTimer);
    debug('closed %d %s', code, reason);
    const refused = this.#settings.reconnect?.refusal(code);
    if (this.#settings.reconnect && refused === undefined) return this.#retry(code, reason);
    this.#fail(closeError(code, reason, { metadata, requestId: this.#requestId }, refused));
  }

  #retry(code: number, reason: string): void {
    const reconnect = this.#settings.reconnect!;
    const refused = reconnect.refusal(code);
    if (refused !== undefined) return this.#fail(closeError(code, reason, { requestId: this.#requestId }, refused));
    this.#retired.add(this.#ws);
    clearTimeout(this.#connectTimer);
    this.#reconnecting = true;
    const { attempt, delay } = reconnect.next();
    debug('reconnecting after %d in %d ms (attempt %d)', code, delay, attempt);
    this.#events.reconnect({ attempt, code, reason, delay });
    this.#ws.terminate();
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #fail(error: Error): void {
    if (this.#retired.has(this.#ws)) return;
    this.#retired.add(this.#ws);
    this.#events.failed(error);
  }

  /** Torn down at once, with no CloseStream. */
  destroy(): void {
    this.#retired.add(this.#ws);
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#reconnectTimer);
    if (this.#ws.readyState !== this.#ws.CLOSED) this.#ws.terminate();
  }
}
