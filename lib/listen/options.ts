// The listen stream's options, checked and with their defaults resolved once, before anything is dialled.
import { createHash, type Hash } from 'node:crypto';
import { DeepgramError } from './errors.js';
import { endpoint, type ConnectionOptions, type Endpoint } from './connection.js';
import { Reconnect, type ReconnectOptions } from './reconnect.js';
import { livenessOf, type Liveness } from './liveness.js';
import { Memo } from './memo.js';
import { LISTEN_V1, type ListenProtocol, type SocketProtocol } from './protocol.js';
import { rawLayout, toSearchParams, type ListenQuery } from '../protocol/options.js';

/** The options of a session stream, whatever its protocol; `Q` is its query's type. */
export interface SessionOptions<Q extends object> extends ConnectionOptions {
  /** Query parameters, named as Deepgram names them. */
  query?: Q;
  /** Milliseconds to wait for the upgrade. Default 10000. */
  connectTimeout?: number;
  /** After CloseStream, ms without a server frame (while the stream reads) before giving up. Default 15000. */
  closeTimeout?: number;
  /**
   * Send KeepAlive when nothing went out for this many ms (so at most twice this apart); false: never. Default 3000.
   */
  keepAlive?: number | false;
  /** Bytes of audio held before `write()` returns false (also the bound on the socket's own buffer). */
  highWaterMark?: number;
  /** Server messages held before the socket stops being read. Default 16. */
  readableHighWaterMark?: number;
  /**
   * How a dead connection is noticed: a ping goes out when nothing has come for `interval` ms, and a connection that
   * sends nothing (no message, no pong) for `timeout` ms is dropped: reconnected when `reconnect` is on, else a
   * `DG_TIMEOUT` error. Time while this stream's reader has paused it does not count. Default { interval: 4000,
   * timeout: 8000 }: noticed 8 to 12 s after the last frame, before the close timeout. false: never.
   */
  liveness?: { interval?: number; timeout?: number } | false;
  /** Reconnect after an abnormal close (1006, 1011, a network error; never 1000, 1008 or a 4xx). Off by default. */
  reconnect?: ReconnectOptions;
  signal?: AbortSignal;
}

export type ListenStreamOptions = SessionOptions<ListenQuery>;

/**
 * What the link needs: the protocol, where to dial, its deadlines, and the reconnect layer when there is one. Not the
 * query: what needs it reads it as the stream is made, and a thousand streams keep no thousand parameter lists.
 */
export interface LinkSettings {
  protocol: SocketProtocol;
  endpoint: Endpoint;
  connectTimeout: number;
  closeTimeout: number;
  liveness: Liveness | false;
  reconnect?: Reconnect;
}

export interface ListenSettings extends LinkSettings {
  protocol: ListenProtocol;
  keepAlive: number | false;
  /** The sha256 of the audio sent, kept when a Metadata says it. */
  hash?: Hash;
  /** Of headerless audio (undefined for a container): how far into it the audio sent reaches. */
  bytesPerSecond?: number;
}

/** The default liveness, one object for every stream that takes it. */
const LIVENESS: Liveness = Object.freeze({ interval: 4000, timeout: 8000 });

/** Each protocol's word on the queries it has checked, by its path and the query: why it cannot work, or ''. */
const VERDICTS = new Memo<string>(64, 2048);

/** The options' query as parameters, for `protocol`; one that can never work throws `DG_OPTIONS`. */
export function sessionQuery(options: { query?: object }, protocol: SocketProtocol): URLSearchParams {
  const query = toSearchParams(options.query ?? {});
  const problem = VERDICTS.get(`${protocol.path}?${query}`, () => protocol.checkQuery(query) ?? '');
  if (problem) throw new DeepgramError('DG_OPTIONS', problem);
  return query;
}

/** The link's settings the options say for `protocol` (and its `query`); options that can never work throw. */
export function linkSettings(
  options: Omit<SessionOptions<object>, 'reconnect'>,
  protocol: SocketProtocol,
  query = sessionQuery(options, protocol),
): LinkSettings {
  return {
    protocol,
    endpoint: endpoint(options, protocol.path, query),
    connectTimeout: options.connectTimeout ?? 10_000,
    closeTimeout: options.closeTimeout ?? 15_000,
    liveness: livenessOf(options.liveness, LIVENESS),
  };
}

/**
 * The settings the options say for a listen `protocol`; options that can never work throw `DG_OPTIONS`. The audio is
 * `hashed` for a Metadata that says its sha256: by default, the server's after a reconnect (it covers one session).
 */
export function listenSettings(
  options: SessionOptions<object>,
  protocol: ListenProtocol = LISTEN_V1,
  hashed = Boolean(options.reconnect),
): ListenSettings {
  const query = sessionQuery(options, protocol);
  const { endpoint, connectTimeout, closeTimeout, liveness } = linkSettings(options, protocol, query);
  // Named one by one, not spread: V8 gives an object made by a spread and then added to a hidden class of its own,
  // and the write path's loads of `hash` and `reconnect` went megamorphic over a thousand streams' settings.
  return {
    protocol,
    endpoint,
    connectTimeout,
    closeTimeout,
    liveness,
    keepAlive: options.keepAlive ?? 3000,
    reconnect: options.reconnect && new Reconnect(options.reconnect, query, protocol),
    hash: hashed ? createHash('sha256') : undefined,
    bytesPerSecond: rawLayout(query)?.bytesPerSecond,
  };
}
