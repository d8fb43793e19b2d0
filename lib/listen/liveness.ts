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

/** Watches `ws` until it is dead (then `dead()`, once) or the returned function stops the watch. */
export function watchLiveness(ws: WebSocket, liveness: Liveness, dead: () => void, paused = () => ws.isPaused) {
  const ticks = Math.max(1, Math.ceil(liveness.timeout / liveness.interval));
  let heard = false;
  let silent = 0;
  const hear = () => (heard = true);
  ws.on('message', hear).on('ping', hear).on('pong', hear);
  const stop = () => {
    clearInterval(timer);
    ws.off('message', hear).off('ping', hear).off('pong', hear);
  };
  const timer = setInterval(() => {
    if (heard || paused()) {
      heard = false;
      silent = 0;
    } else if (++silent < ticks) {
      if (ws.readyState === ws.OPEN) ws.ping();
    } else {
      stop();
      dead();
    }
  }, liveness.interval).unref();
  return stop;
}
