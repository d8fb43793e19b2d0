// The socket under a listen stream, and its replacements: dials, times the upgrade out, turns frames into valid
// messages, holds Metadata until the close code says what it means, says what a refusal or an abnormal close means
// and, with the reconnect layer, dials again after a drop, replaying what it must. After CloseStream it gives the
// server `closeTimeout` ms of reading time to speak.
import type { IncomingMessage } from 'node:http';
import { debuglog } from 'node:util';
import type WebSocket from 'ws';
import { DeepgramError } from './errors.js';
import { closeError, dial, header, type SocketEvents } from './connection.js';
import { retryableStatus } from './retry.js';
import { Deadline } from './deadline.js';
import { Watch, type Liveness, type Watcher } from './liveness.js';
import type { LinkSettings } from './options.js';
import type { ReconnectEvent } from './reconnect.js';
import type { MetadataMessage } from '../protocol/messages.js';
import type { SessionMessage } from '../protocol/flux.js';

/** `NODE_DEBUG=deepgram-stream` shows connects, closes and reconnects (never the key). */
export const debug = debuglog('deepgram-stream');

export interface LinkEvents {
  /** A socket is open; `again` after a reconnect, once the replayed audio has been sent. */
  open(again: boolean): void;
  /** After a reconnect, text frames to send before the replayed audio (a configuration to restore). */
  beforeReplay(): string[];
  /** A valid message other than Metadata. */
  message(message: SessionMessage): void;
  /** A binary frame of a protocol whose binary frames are audio: whether it is progress (the deadline moves on). */
  audioFrame?(data: Buffer): boolean;
  /** Seconds of audio sent so far, when the encoding tells: no result can honestly claim to be further on. */
  audioSent?(): number | undefined;
  /** The server closed cleanly, after this Metadata. */
  end(metadata: MetadataMessage | undefined): void;
  /** The link is lost for good: the stream fails with this. */
  failed(error: Error): void;
  reconnect(event: ReconnectEvent): void;
}

/**
 * Sockets given up on, every link's (a socket belongs to one): their late events (a close after a refused handshake)
 * must not act twice. One set for all, not one per link: a thousand streams need no thousand sets.
 */
const RETIRED = new WeakSet<WebSocket>();

/** Seconds a server's clock may run past the audio sent (its times are rounded, and may reach the next frame). */
const CLOCK_SLACK = 1;

export class Link implements SocketEvents, Watcher {
  readonly #settings: LinkSettings;
  readonly #events: LinkEvents;
  #ws!: WebSocket;
  #requestId?: string;
  /** Metadata comes just before the close; whether it ends the stream depends on the close code. */
  #heldMetadata?: MetadataMessage;
  #opened = false;
  #paused = false;
  #reconnecting = false;
  /** CloseStream went out. */
  #closing = false;
  /** What the server must do within `ms` of its last progress through the audio, and what happens if it does not. */
  #deadline?: { ms: number; expired: () => void };
  /** The upgrade's deadline, and the progress deadline's timer: judged after the reads a stall left waiting. */
  readonly #connectBy = new Deadline();
  readonly #progressBy = new Deadline();
  #reconnectTimer?: NodeJS.Timeout;
  /** The watch on the current socket's liveness. */
  #watch?: Watch;
  /** The furthest the server has shown it got into the audio: a deadline moves on only past it. */
  #reached = 0;

  constructor(settings: LinkSettings, events: LinkEvents) {
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

  /** Not reading: the stream's reader is full. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Stops (or resumes) reading, this socket and the ones after it; a deadline stops with it. */
  pause(paused: boolean): void {
    if (paused === this.#paused) return; // no change, and a running deadline runs on
    this.#paused = paused;
    if (paused) this.#ws.pause();
    else if (this.#ws.isPaused) this.#ws.resume();
    this.#armDeadline();
  }

  /** Sends a text frame (or, with 'ping', a WebSocket ping) when a socket is open; false when none is. */
  send(text: string | 'ping'): boolean {
    if (this.#ws.readyState !== this.#ws.OPEN) return false;
    if (text === 'ping') this.#ws.ping();
    else this.#ws.send(text);
    return true;
  }

  /**
   * From now on the server must progress through the audio within `ms` while this link reads, else `expired` runs:
   * a deadline that a server talking without getting anywhere still meets. Replaces the one before.
   */
  deadline(ms: number, expired: () => void): void {
    this.#deadline = { ms, expired };
    this.#armDeadline();
  }

  /** CloseStream went out: from now on the server must close within the close timeout. */
  closing(): void {
    this.#closing = true;
    const ms = this.#settings.closeTimeout;
    this.deadline(ms, () => {
      // Its close frame was read before this verdict (it came during a stall, say; this side starts no close while it
      // waits): the socket goes without the rest of the handshake, and the server's code decides.
      if (this.#ws.readyState === this.#ws.CLOSING) return this.#ws.terminate();
      const why = `the server did not close within ${ms} ms of its last progress through the audio after CloseStream`;
      this.#fail(
        new DeepgramError('DG_CLOSE_TIMEOUT', why, { requestId: this.#requestId, metadata: this.#heldMetadata }),
      );
    });
  }

  #armDeadline(): void {
    if (!this.#deadline || this.#paused || RETIRED.has(this.#ws)) return this.#progressBy.clear();
    this.#progressBy.set(this.#deadline.ms, this.#deadline.expired);
  }

  #connect(): void {
    const timeout = this.#settings.connectTimeout;
    const ws = (this.#ws = dial(this.#settings.endpoint, this));
    debug('connecting');
    this.#connectBy.set(timeout, () => {
      if (this.#reconnecting) return this.#retry(1006, `no upgrade within ${timeout} ms`);
      ws.terminate();
      this.#fail(new DeepgramError('DG_CONNECT_TIMEOUT', `no upgrade from the server within ${timeout} ms`));
    });
  }

  // What the current socket tells (SocketEvents): a socket that has been given up on or replaced says nothing more.

  owns(ws: WebSocket): boolean {
    return ws === this.#ws && !RETIRED.has(ws);
  }

  onUpgrade(res: IncomingMessage): void {
    this.#requestId = header(res, 'dg-request-id');
  }

  onRefused(error: DeepgramError): void {
    if (this.#reconnecting && retryableStatus(error.status ?? 0, true))
      this.#retry(1006, `handshake answered ${error.status}`);
    else this.#fail(error);
  }

  onOpen(): void {
    this.#connectBy.clear();
    this.#opened = true;
    this.#reached = 0; // a new session's timeline starts again
    if (this.#paused) this.#ws.pause(); // a socket cannot be paused before it opens
    this.#watchLiveness();
    this.#armDeadline();
    debug('open, request %s', this.#requestId);
    const again = this.#reconnecting;
    if (again) {
      this.#reconnecting = false;
      for (const text of this.#events.beforeReplay()) this.#ws.send(text);
      const chunks = this.#settings.reconnect!.replay();
      for (const chunk of chunks) if (chunk.length > 0) this.#ws.send(chunk);
      debug(
        'replayed %d bytes',
        chunks.reduce((n, c) => n + c.length, 0),
      );
    }
    this.#events.open(again);
  }

  onError(error: Error): void {
    // An error is followed by a close, which decides between reconnecting and failing; before any open there is
    // nothing to reconnect, so it fails at once.
    if (!(this.#settings.reconnect && this.#opened)) this.#fail(error);
  }

  #watchLiveness(): void {
    this.#watch?.stop();
    const liveness = this.#settings.liveness;
    if (liveness) this.#watch = new Watch(this.#ws, liveness, this, true);
  }

  /** The watch's word: nothing came for the liveness timeout. The socket is dropped: reconnected, or DG_TIMEOUT. */
  dead(liveness: Liveness): void {
    const why = `nothing came from the server for ${liveness.timeout} ms (no message, no pong)`;
    if (this.#settings.reconnect) return this.#retry(1006, why);
    this.#fail(new DeepgramError('DG_TIMEOUT', `the connection went quiet: ${why}`, { requestId: this.#requestId }));
  }

  onHeard(): void {
    this.#watch?.hear();
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    this.#watch?.hear();
    if (isBinary && this.#settings.protocol.audioOut) {
      // New audio may be progress, until the close: after it, audio that never ends must not hold the deadline off.
      if (this.#events.audioFrame?.(data) && !this.#closing) this.#armDeadline();
      return;
    }
    const text = data.toString('utf8');
    // Refused where it enters: no transform downstream ever meets a missing field or a NaN time.
    const parsed = isBinary ? { problem: 'a binary frame' } : this.#settings.protocol.parse(text);
    if ('problem' in parsed) {
      const why = `the server sent a frame that is not a valid message (${parsed.problem})`;
      this.#fail(new DeepgramError('DG_PROTOCOL', why, { raw: text.slice(0, 65536), requestId: this.#requestId }));
    } else if (this.#settings.protocol.isClosing(parsed.message)) {
      this.#heldMetadata = parsed.message;
    } else {
      const reached = this.#settings.protocol.progress(parsed.message);
      if (reached !== undefined && reached > this.#reached && this.#within(reached)) {
        this.#reached = reached;
        this.#armDeadline();
      }
      this.#events.message(parsed.message);
    }
  }

  /** A clock running past the audio sent is not progress: it must not hold a deadline off forever. */
  #within(reached: number): boolean {
    return reached <= (this.#events.audioSent?.() ?? Infinity) + CLOCK_SLACK;
  }

  /** A clean close ends the stream; an abnormal one is dialled again when the reconnect layer allows, else fails. */
  onClose(code: number, reason: string): void {
    this.#connectBy.clear();
    this.#progressBy.clear();
    this.#watch?.stop();
    debug('closed %d %s', code, reason);
    const metadata = this.#heldMetadata;
    this.#heldMetadata = undefined;
    if (this.#settings.protocol.isCleanClose(code, this.#closing)) return this.#events.end(metadata);
    const refused = this.#settings.reconnect?.refusal(code);
    if (this.#settings.reconnect && refused === undefined) return this.#retry(code, reason);
    const describe = this.#settings.protocol.describeClose;
    this.#fail(closeError(code, reason, { metadata, requestId: this.#requestId }, refused ?? '', describe));
  }

  #retry(code: number, reason: string): void {
    const reconnect = this.#settings.reconnect!;
    const refused = reconnect.refusal(code);
    const { describeClose } = this.#settings.protocol;
    if (refused !== undefined)
      return this.#fail(closeError(code, reason, { requestId: this.#requestId }, refused, describeClose));
    RETIRED.add(this.#ws);
    this.#connectBy.clear();
    this.#progressBy.clear();
    this.#watch?.stop();
    this.#reconnecting = true;
    const { attempt, delay } = reconnect.next();
    debug('reconnecting after %d in %d ms (attempt %d)', code, delay, attempt);
    // Closing before the event: a write from a listener waits for the new socket (an open one takes audio at once).
    this.#ws.terminate();
    this.#events.reconnect({ attempt, code, reason, delay });
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #fail(error: Error): void {
    if (RETIRED.has(this.#ws)) return;
    RETIRED.add(this.#ws);
    this.#watch?.stop();
    if (error instanceof DeepgramError) return this.#events.failed(error);
    // A system error (refused, reset, unreachable): its details stay in `cause`, out of the message a relay shows.
    const why = `the connection to the server failed (${'code' in error ? String(error.code) : error.name})`;
    this.#events.failed(new DeepgramError('DG_CONNECT', why, { cause: error, requestId: this.#requestId }));
  }

  /** Torn down at once, with no CloseStream. */
  destroy(): void {
    RETIRED.add(this.#ws);
    this.#connectBy.clear();
    clearTimeout(this.#reconnectTimer);
    this.#progressBy.clear();
    this.#watch?.stop();
    if (this.#ws.readyState !== this.#ws.CLOSED) this.#ws.terminate();
  }
}
