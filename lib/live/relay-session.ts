// One browser's session on the relay: its socket and its listen stream, each ending the other. Audio goes in with
// backpressure (the browser's socket is not read while the listen stream is full), controls the same way (a
// browser that does not read what it is sent is not read either), every server message goes back as JSON text,
// and every end (the browser's CloseStream or close, the relay's own limits, the relay stopping) ends the listen
// stream first, so every final arrives before the socket is closed.
import type { WebSocket, RawData } from 'ws';
import type { ListenStream } from '../listen/listen.js';
import type { FluxStream } from '../listen/flux.js';
import { Deadline } from '../listen/deadline.js';
import { DeepgramError } from '../listen/errors.js';
import { parseJson, wireForm } from '../protocol/guards.js';
import type { ServerMessage } from '../protocol/messages.js';

/** What the relay itself tells a browser: one of these, then the socket closes. */
export interface RelayErrorMessage {
  type: 'RelayError';
  /** A `DeepgramError` code, or the relay's own: RELAY_IDLE, RELAY_MESSAGE, RELAY_SESSION_LIMIT, RELAY_STOPPING. */
  code: string;
  message: string;
  /** `dg-request-id`, to quote to Deepgram support. */
  requestId?: string;
}

/** What the relay logs of a session once it has ended: never the key. */
export interface RelaySessionLog {
  /** The browser's address. */
  address: string;
  started: Date;
  ended: Date;
  /** Seconds of audio the upstream session took (its Metadata), or undefined when it sent none. */
  audioSeconds?: number;
  /** `dg-request-id` of the upstream session. */
  requestId?: string;
  /** The error code the session ended with, if any. */
  error?: string;
}

export interface SessionLimits {
  /** Ms without audio from the browser before its session is ended. */
  idleTimeout: number;
  /** Ms a session may last before it is ended; undefined: no limit. */
  maxSessionMs?: number;
}

/** Server messages waiting to be written to a browser before its listen stream and its socket are paused. */
const SEND_HIGH_WATER = 64;
/** The longest a session that ended normally keeps its socket for the reply to its last turn. */
const LINGER_MS = 30_000;

/** Why a session ends on the relay's side: said to the browser last, with its close code. */
const REASONS = {
  RELAY_IDLE: { code: 1001, message: (l: SessionLimits) => `no audio from the browser for ${l.idleTimeout} ms` },
  RELAY_SESSION_LIMIT: {
    code: 1008,
    message: (l: SessionLimits) => `the session reached the relay's limit of ${l.maxSessionMs} ms`,
  },
  RELAY_STOPPING: { code: 1001, message: () => 'the relay is stopping: the session ended with its last results' },
};
type Reason = keyof typeof REASONS;

/**
 * A failure as the browser may see it: its code and words, which say nothing of the relay's network (a DG_CONNECT's
 * system error, with its addresses, stays in its `cause`).
 */
function forBrowser(error: Error): RelayErrorMessage {
  const { code, requestId } = error instanceof DeepgramError ? error : { code: 'DG_ERROR', requestId: undefined };
  const message = code === 'DG_ERROR' ? 'the relay failed' : error.message;
  return { type: 'RelayError', code, message, requestId };
}

/** Bridges a browser's socket and its listen stream; `stop` ends it gracefully from the relay's side. */
export function bridge(
  ws: WebSocket,
  listen: ListenStream | FluxStream,
  limits: SessionLimits,
  done: (log: Omit<RelaySessionLog, 'address' | 'started'>) => void,
  /** What a normal end waits for before the socket closes (the reply to the last turn), up to LINGER_MS. */
  linger: () => Promise<void> = async () => {},
): { stop(): void } {
  let unsent = 0;
  let reason: Reason | undefined;
  let error: string | undefined;
  /** The last control forwarded with no audio since: the same one again adds nothing. */
  let lastControl: string | undefined;
  const send = (message: ServerMessage | RelayErrorMessage) => {
    if (ws.readyState !== ws.OPEN) return;
    unsent++;
    ws.send(JSON.stringify(wireForm(message)), () => {
      if (--unsent >= SEND_HIGH_WATER / 2 || !listen.isPaused()) return;
      listen.resume();
      ws.resume();
    });
    // A browser that does not read what it is sent is not read either: its controls cannot pile up here.
    if (unsent >= SEND_HIGH_WATER) {
      listen.pause();
      ws.pause();
    }
  };
  const end = (why?: Reason) => {
    reason ??= why;
    idle.clear();
    clearTimeout(longest);
    if (!listen.writableEnded && !listen.destroyed) listen.end();
  };
  /** The session holds the browser back (its audio not yet taken): it cannot be heard, so that time is not idle. */
  let holding = false;
  const idle = new Deadline();
  idle.set(limits.idleTimeout, () => holding || end('RELAY_IDLE'));
  const longest = limits.maxSessionMs && setTimeout(() => end('RELAY_SESSION_LIMIT'), limits.maxSessionMs).unref();

  ws.on('message', (data: RawData, binary: boolean) => {
    if (binary) {
      if (!listen.writable) return;
      idle.refresh(); // only audio: a browser sending anything else is idle all the same
      lastControl = undefined;
      // Frames already read still arrive after pause(): one drain listener serves them all.
      if (!listen.write(data as Buffer) && !ws.isPaused) {
        ws.pause();
        holding = true;
        listen.once('drain', () => {
          holding = false;
          idle.refresh(); // fired while holding, or not: a whole idle timeout from now (not if ended: cleared)
          ws.resume();
        });
      }
      return;
    }
    const json = parseJson(data.toString())?.value;
    const type = json !== null && typeof json === 'object' && 'type' in json ? json.type : undefined;
    const open = listen.writable; // false once ended or failed: a control then would throw DG_CLOSED
    if (type === 'CloseStream') end();
    else if (type === 'KeepAlive' || (type === lastControl && open)) return;
    else if (type === 'Finalize' && 'finalize' in listen && open) listen.finalize();
    else if (type === 'ForceEndTurn' && 'forceEndTurn' in listen && open) listen.forceEndTurn();
    else {
      const takes = 'finalize' in listen ? 'CloseStream or Finalize' : 'CloseStream or ForceEndTurn';
      send({ type: 'RelayError', code: 'RELAY_MESSAGE', message: `the relay takes audio, ${takes}` });
      error = 'RELAY_MESSAGE';
      listen.destroy();
      ws.close(1003, 'RELAY_MESSAGE');
      return;
    }
    if (typeof type === 'string') lastControl = type;
  });
  // Drain is not emitted once the stream is ending: its finish and end resume the socket too, which must be read
  // for the close handshake to complete.
  listen.on('finish', () => ws.resume());
  ws.on('error', () => {}); // a browser's protocol error (too big a frame) is followed by its close, handled there
  ws.on('close', () => {
    listen.resume(); // nobody reads now: let the session drain to its end
    end();
  });
  listen.on('data', send);
  listen.on('end', () => {
    ws.resume();
    if (!reason) {
      let timer: NodeJS.Timeout | undefined;
      const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, LINGER_MS).unref()));
      return void Promise.race([linger(), cap]).finally(() => {
        clearTimeout(timer);
        ws.close(1000);
      });
    }
    send({ type: 'RelayError', code: reason, message: REASONS[reason].message(limits) });
    ws.close(REASONS[reason].code, reason);
  });
  listen.on('error', (failure: Error) => {
    idle.clear();
    clearTimeout(longest);
    const message = forBrowser(failure);
    error = message.code;
    send(message);
    ws.resume();
    ws.close(1011, message.code);
  });
  let audioSeconds: number | undefined;
  listen.on('metadata', (metadata: { duration: number }) => (audioSeconds = metadata.duration));
  listen.on('close', () => done({ ended: new Date(), audioSeconds, requestId: listen.requestId, error }));
  return { stop: () => end('RELAY_STOPPING') };
}
