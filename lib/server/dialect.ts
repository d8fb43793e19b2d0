// What a session speaks, as the session core sees it: /v1/listen (nova.ts) or Flux's /v2/listen (flux.ts). The core
// owns the socket, decoding, throttle, flow control and faults; a dialect owns the messages and the close.
import type { Pcm } from './pcm.js';
import type { Faults } from './faults.js';

/** What a dialect is given: the session's request and the means to speak and to end it. */
export interface DialectHost {
  requestId: string;
  params: URLSearchParams;
  script?: string[];
  faults: Faults;
  send(message: object): void;
  /** Ends the session; `code` undefined is the dialect's normal close. */
  end(code: number | undefined, reason: string): void;
}

/** A protocol as the server speaks it; `Q` is what a text frame queues in order with the audio. */
export interface Dialect<Q = any> {
  /** Milliseconds without a frame before the session is closed, unless the server says otherwise. */
  inactivityTimeout: number;
  /** Whether WebSocket pings count as activity (Flux's keep-alive). */
  pingsKeepAlive?: boolean;
  /** Audio seconds taken so far. */
  readonly duration: number;
  /** A text frame: `close` for CloseStream, or something to do once the audio before it has been heard. */
  text(raw: string): 'close' | { queue: Q } | void;
  audio(pcm: Pcm): void;
  control(queued: Q): void;
  /** CloseStream reached, after all audio: the last results. */
  flush(): void;
  /** The session ends: what goes last, and the close code (undefined: a close frame with no status). */
  ending(how: { code: number | undefined; reason: string; sha256: string }): {
    code: number | undefined;
    reason: string;
  };
}

/** What a session did, told when its socket has closed: `path` is /v1/listen or /v2/listen, `bytes` the audio. */
export interface SessionReport {
  requestId: string;
  path: string;
  bytes: number;
  /** The close code the socket ended with (1006: no close frame). */
  code: number;
  /** The worker process that served it, counted from 0, when the server has workers. */
  worker?: number;
}
