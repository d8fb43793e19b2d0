// Whether the peer of a socket is still there, for every socket the package holds (a listen session's, a relay's
// browser): a ping when a tick finds nothing has come since the last, and `dead()` once nothing at all (a message,
// a ping, a pong) has come for the timeout. Ticks while this side is not reading count as heard: the peer cannot be
// heard through a paused socket.
import type WebSocket from 'ws';
import { startTicking, stopTicking, type Ticking } from './ticks.js';

export interface Liveness {
  /** Ms between ticks: a ping goes out on a tick that found nothing had come. */
  interval: number;
  /** Ms of silence after which the peer is taken for gone. */
  timeout: number;
}

/**
 * The liveness `option` asks for over `defaults`, or false for none. Asking for nothing gives `defaults` itself: one
 * object for every socket that takes them.
 */
export function livenessOf(option: Partial<Liveness> | false | undefined, defaults: Liveness): Liveness | false {
  return option === false ? false : option ? { ...defaults, ...option } : defaults;
}

/** Who is told that a watched socket is dead (and by what liveness): an object's method, not a closure per socket. */
export interface Watcher {
  dead(liveness: Liveness): void;
}

/** The watch on each socket watched; its listeners and its timer are shared by all (no closures per socket). */
const WATCHES = new WeakMap<WebSocket, Watch>();

/**
 * Watches `ws` until it is dead (then `watcher.dead(liveness)`, once), closes, or `stop()` is called. Its first tick
 * (which may come at once) counts as heard: the silence that kills is whole intervals after it, so `timeout` to
 * `timeout + interval`.
 */
export class Watch implements Ticking {
  readonly #ws: WebSocket;
  readonly #liveness: Liveness;
  readonly #ticks: number;
  readonly #watcher: Watcher;
  #heard = true;
  #silent = 0;
  /** The verdict of death, waiting for the reads that a stall may have left pending. */
  #verdict?: NodeJS.Immediate;

  /**
   * `told`: the socket's owner calls `hear()` for each frame that comes and `stop()` at its close (a link, whose own
   * listeners hear them already); else the watch listens to the socket itself.
   */
  constructor(ws: WebSocket, liveness: Liveness, watcher: Watcher, told = false) {
    this.#ws = ws;
    this.#liveness = liveness;
    this.#ticks = Math.max(1, Math.ceil(liveness.timeout / liveness.interval));
    this.#watcher = watcher;
    if (!told) {
      WATCHES.set(ws, this);
      ws.on('message', Watch.#hear).on('ping', Watch.#hear).on('pong', Watch.#hear).on('close', Watch.#closed);
    }
    startTicking(liveness.interval, this);
  }

  /** Something came from the peer: a message, a ping or a pong. */
  hear(): void {
    this.#heard = true;
  }

  static #hear(this: WebSocket): void {
    WATCHES.get(this)?.hear();
  }

  static #closed(this: WebSocket): void {
    WATCHES.get(this)?.stop();
  }

  tick(): void {
    if (this.#heard || this.#ws.isPaused) {
      this.#heard = false;
      this.#silent = 0;
    } else if (++this.#silent < this.#ticks) {
      if (this.#ws.readyState === this.#ws.OPEN) this.#ws.ping();
    } else {
      // Judged once what came meanwhile is read: after a long callback, the loop runs its timers before its reads,
      // and a pong waiting unread is not silence.
      this.#verdict ??= setImmediate(() => {
        this.#verdict = undefined;
        if (this.#heard) return;
        this.stop();
        this.#watcher.dead(this.#liveness);
      });
    }
  }

  stop(): void {
    clearImmediate(this.#verdict);
    stopTicking(this.#liveness.interval, this);
    if (WATCHES.get(this.#ws) !== this) return;
    WATCHES.delete(this.#ws);
    this.#ws.off('message', Watch.#hear).off('ping', Watch.#hear).off('pong', Watch.#hear).off('close', Watch.#closed);
  }
}
