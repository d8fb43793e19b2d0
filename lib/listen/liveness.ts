// Whether the peer of a socket is still there, for every socket the package holds (a listen session's, a relay's
// browser): a ping when a tick finds nothing has come since the last, and `dead()` once nothing at all (a message,
// a ping, a pong) has come for the timeout. Ticks while this side is not reading count as heard: the peer cannot be
// heard through a paused socket.
import type WebSocket from 'ws';

export interface Liveness {
  /** Ms between ticks: a ping goes out on a tick that found nothing had come. */
  interval: number;
  /** Ms of silence after which the peer is taken for gone. */
  timeout: number;
}

/** The watch on each socket watched; its listeners and its tick are shared by all (no closures per socket). */
const WATCHES = new WeakMap<WebSocket, Watch>();

/** Watches `ws` until it is dead (then `dead()`, once), closes, or `stop()` is called. */
export class Watch {
  readonly #ws: WebSocket;
  readonly #ticks: number;
  readonly #dead: () => void;
  readonly #timer: NodeJS.Timeout;
  #heard = false;
  #silent = 0;

  constructor(ws: WebSocket, liveness: Liveness, dead: () => void) {
    this.#ws = ws;
    this.#ticks = Math.max(1, Math.ceil(liveness.timeout / liveness.interval));
    this.#dead = dead;
    WATCHES.set(ws, this);
    ws.on('message', Watch.#hear).on('ping', Watch.#hear).on('pong', Watch.#hear).on('close', Watch.#closed);
    this.#timer = setInterval(Watch.#tick, liveness.interval, this).unref();
  }

  static #hear(this: WebSocket): void {
    const watch = WATCHES.get(this);
    if (watch) watch.#heard = true;
  }

  static #closed(this: WebSocket): void {
    WATCHES.get(this)?.stop();
  }

  static #tick(watch: Watch): void {
    if (watch.#heard || watch.#ws.isPaused) {
      watch.#heard = false;
      watch.#silent = 0;
    } else if (++watch.#silent < watch.#ticks) {
      if (watch.#ws.readyState === watch.#ws.OPEN) watch.#ws.ping();
    } else {
      watch.stop();
      watch.#dead();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    if (WATCHES.get(this.#ws) !== this) return;
    WATCHES.delete(this.#ws);
    this.#ws.off('message', Watch.#hear).off('ping', Watch.#hear).off('pong', Watch.#hear).off('close', Watch.#closed);
  }
}
