// The Flux Duplex: the listen stream speaking /v2/listen (pings for keep-alive, 1005 after CloseStream is clean),
// with what Flux needs on top. Configure goes one at a time, the next after the last one's acknowledgement. end()
// loses no turn: after the last audio, ForceEndTurn ends any open turn and its answer is awaited before
// CloseStream. Flux sends no Metadata, so the stream makes its own.
import { createHash } from 'node:crypto';
import { Duplex } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { DeepgramError } from './errors.js';
import { kBeforeReplay, kControl, ListenStream } from './stream.js';
import { LISTEN_FLUX } from './protocol.js';
import type { SessionOptions } from './options.js';
import type { ReconnectEvent } from './reconnect.js';
import { rawLayout, toSearchParams } from '../protocol/options.js';
import {
  applyConfigure,
  configOf,
  isConfigureAck,
  isFluxNotice,
  isTurnInfo,
  type ConfigureFailureMessage,
  type ConfigureSuccessMessage,
  type FluxConfig,
  type FluxConfigure,
  type FluxMessage,
  type FluxMetadataMessage,
  type FluxQuery,
  type SessionMessage,
  type TurnInfoMessage,
} from '../protocol/flux.js';

type Callback = (error?: Error | null) => void;
type Ack = ConfigureSuccessMessage | ConfigureFailureMessage;

export interface FluxStreamOptions extends SessionOptions<FluxQuery> {
  /** At end(), ms without a message while waiting for ForceEndTurn's EndOfTurn before closing anyway. Default 5000. */
  endTurnTimeout?: number;
}

/** What the `warning` event tells: a Flux `Warning`, or the stream's own (`FORCE_END_TURN_REFUSED`). */
export interface FluxWarning {
  code: string;
  description: string;
}

export interface FluxStream {
  on(event: 'data', listener: (message: FluxMessage) => void): this;
  on(event: 'metadata', listener: (metadata: FluxMetadataMessage) => void): this;
  on(event: 'warning', listener: (warning: FluxWarning) => void): this;
  on(event: 'reconnect', listener: (event: ReconnectEvent) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  [Symbol.asyncIterator](): AsyncIterableIterator<FluxMessage>;
}

export class FluxStream extends Duplex {
  readonly #listen: ListenStream;
  readonly #hash = createHash('sha256');
  readonly #bytesPerSecond?: number;
  readonly #endTurnTimeout: number;
  readonly #configures: {
    message: FluxConfigure;
    done: (ack: Ack) => void;
    failed: (e: Error) => void;
    /** The configuration set again on a new session after a drop, by the stream itself. */
    restore?: true;
  }[] = [];
  #config: FluxConfig;
  /** Whether the first of `#configures` is on the wire, awaiting its acknowledgement. */
  #configureSent = false;
  /** The configuration a new session starts with (the query's): a reconnect restores any change since. */
  readonly #initialConfig: string;
  /** Turns ended in earlier sessions: a reconnected session counts its turns from 0 again. */
  #turnBase = 0;
  #bytes = 0;
  /** Bytes of the chunk handed to the listen stream whose write has not completed here. */
  #forwarding = 0;
  #turns = 0;
  /** The furthest audio time a TurnInfo has reached: what the server has heard. */
  #heard = 0;
  /** The open turn's latest TurnInfo; undefined between turns. */
  #turn?: TurnInfoMessage;
  /** Waiting at end() for the open turn's EndOfTurn. */
  #endingTurn?: { done: () => void; timer: NodeJS.Timeout; finished: Callback };

  constructor(options: FluxStreamOptions = {}) {
    super({ readableObjectMode: true, allowHalfOpen: true, writableHighWaterMark: options.highWaterMark });
    const { endTurnTimeout = 5000, ...listenOptions } = options;
    const query = { model: 'flux-general-en' as const, ...options.query };
    this.#listen = new ListenStream({ ...listenOptions, query }, LISTEN_FLUX);
    this.#endTurnTimeout = endTurnTimeout;
    const params = toSearchParams(query);
    this.#bytesPerSecond = rawLayout(params)?.bytesPerSecond;
    this.#config = configOf(params);
    this.#initialConfig = JSON.stringify(this.#config);
    this.#listen.on('data', (message: SessionMessage) => this.#message(message));
    this.#listen.on('reconnect', (event: ReconnectEvent) => this.#reconnected(event));
    this.#listen[kBeforeReplay] = this.#beforeReplay;
    this.#listen.on('end', () => this.#finish());
    this.#listen.on('error', (error: Error) => this.destroy(error));
  }

  /** `dg-request-id` of the current session. */
  get requestId(): string | undefined {
    return this.#listen.requestId;
  }

  /**
   * Changes thresholds, keyterms, language hints or numerals mid-stream, in order with the audio. One Configure is in
   * flight at a time; the next goes once Flux has acknowledged it. Resolves with the acknowledgement: check its
   * `type` (ConfigureFailure says why in `code` and `description`). Values out of range throw `DG_OPTIONS` here.
   */
  configure(change: Omit<FluxConfigure, 'type'>): Promise<Ack> {
    const message: FluxConfigure = { type: 'Configure', ...change };
    const checked = applyConfigure(this.#config, message, this.#config.language_hints !== undefined);
    if (!('config' in checked))
      throw new DeepgramError('DG_OPTIONS', `Configure: ${'fatal' in checked ? checked.fatal : checked.description}`);
    return new Promise((done, failed) => {
      this.#configures.push({ message, done, failed });
      if (this.#configures.length === 1) this.#control(message);
    });
  }

  /** Ends the open turn now (EndOfTurn with `trigger: "manual"`), in order with the audio written before. */
  forceEndTurn(): void {
    this.#control({ type: 'ForceEndTurn' });
  }

  /**
   * A drop, and a new session on its way: its turns count on from the last session's; its configuration is set again
   * to what Configure had made it, before the replayed audio (`#beforeReplay`); a Configure left unanswered and end()'s
   * ForceEndTurn are sent again.
   */
  #reconnected(event: ReconnectEvent): void {
    this.#turnBase = this.#turns;
    this.#configureSent = false; // the old session's answer will never come
    this.emit('reconnect', event);
    if (JSON.stringify(this.#config) !== this.#initialConfig) {
      const { thresholds, keyterms, numerals, language_hints } = this.#config;
      const restore: FluxConfigure = { type: 'Configure', thresholds, keyterms, numerals };
      if (language_hints) restore.language_hints = language_hints;
      this.#configures.unshift({ message: restore, done: () => {}, failed: () => {}, restore: true });
    }
    // Once CloseStream has gone, the new session only hears the replayed audio out, as the old one would have.
    if (this.#listen.writableEnded) return;
    const pending = this.#configures.find((c) => !c.restore);
    if (pending && pending === this.#configures[0]) this.#control(pending.message);
    if (this.#endingTurn) {
      this.#endingTurn.timer.refresh();
      this.forceEndTurn();
    }
  }

  #beforeReplay = (): string[] => {
    if (!this.#configures[0]?.restore) return [];
    this.#configureSent = true;
    return [JSON.stringify(this.#configures[0].message)];
  };

  #message(message: SessionMessage): void {
    if (isTurnInfo(message)) {
      message.turn_index += this.#turnBase;
      // Only progress through the audio moves end()'s deadline on: Updates that get nowhere do not.
      if (message.audio_window_end > this.#heard) this.#endingTurn?.timer.refresh();
      this.#heard = Math.max(this.#heard, message.audio_window_end);
      if (message.event === 'EndOfTurn') {
        this.#turn = undefined;
        this.#turns++;
        if (this.#endingTurn) this.#endingTurn.done();
      } else if (message.event !== 'Update' || this.#turn) this.#turn = message;
    } else if (isConfigureAck(message)) {
      this.#acknowledged(message);
    } else if (isFluxNotice(message)) {
      if (message.type === 'Error') return this.#fatal(message.code, message.description);
      // The answer to end()'s own ForceEndTurn when no turn was open: the stream's business, not the reader's.
      if (this.#endingTurn && message.code === 'FORCE_END_TURN_NO_ACTIVE_TURN') return this.#endingTurn.done();
      this.emit('warning', { code: message.code, description: message.description });
    }
    if (!this.push(message)) this.#listen.pause();
  }

  #acknowledged(ack: Ack): void {
    // A server answering one Configure twice: an answer with none in flight, or a success that repeats the
    // configuration held when the one in flight changes it, answers nothing of ours.
    if (!this.#configureSent) return;
    let config: FluxConfig | undefined;
    if (ack.type === 'ConfigureSuccess') {
      const { type: _, request_id: __, sequence_id: ___, ...echoed } = ack;
      const multi = this.#config.language_hints !== undefined;
      const next = applyConfigure(this.#config, this.#configures[0].message, multi);
      const changes = 'config' in next && !isDeepStrictEqual(next.config, this.#config);
      if (changes && isDeepStrictEqual(echoed, this.#config)) return;
      config = echoed;
    }
    this.#configureSent = false;
    const sent = this.#configures.shift();
    if (config) this.#config = config;
    sent?.done(ack);
    if (this.#configures.length > 0) this.#control(this.#configures[0].message);
  }

  /**
   * A fatal Error. One that answers our own ForceEndTurn at end() means the deployment lacks it: the last Update
   * stands as the turn's final text, and the stream still ends cleanly.
   */
  #fatal(code: string, description: string): void {
    const turn = this.#turn;
    const ending = this.#endingTurn;
    if (ending && code === 'UNPARSABLE_CLIENT_MESSAGE') {
      clearTimeout(ending.timer);
      this.#endingTurn = undefined;
      ending.finished();
      this.#listen.removeAllListeners('error').on('error', () => {});
      this.#listen.destroy();
      this.emit('warning', {
        code: 'FORCE_END_TURN_REFUSED',
        description: `this deployment refused ForceEndTurn (${description}): the last Update is the turn's final text`,
      });
      if (turn) this.#message({ ...turn, event: 'EndOfTurn', trigger: 'client' });
      return this.#finish();
    }
    const requestId = this.requestId;
    this.destroy(
      new DeepgramError('DG_SERVER', `Flux ended the session: ${code}: ${description}`, { dgError: code, requestId }),
    );
  }

  /** In order with the audio written before it, including what this stream still holds. */
  #control(message: { type: string }): void {
    if (message.type === 'Configure') this.#configureSent = true;
    this.#listen[kControl](message, this.writableLength - this.#forwarding);
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: Callback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    if (this.#listen.write(chunk, encoding)) return callback();
    this.#forwarding = chunk.length;
    this.#listen.once('drain', () => {
      this.#forwarding = 0;
      callback();
    });
  }

  override _read(): void {
    this.#listen.resume();
  }

  /**
   * After the last audio: ForceEndTurn, then CloseStream once its answer (EndOfTurn, or the warning that no turn was
   * open) has come, or nothing has for `endTurnTimeout` ms. It is always sent: whether the audio just sent opens a
   * turn is known only once the server has heard it.
   */
  override _final(callback: Callback): void {
    const close = () => {
      clearTimeout(timer);
      this.#endingTurn = undefined;
      this.#listen.end();
      callback();
    };
    const timer = setTimeout(close, this.#endTurnTimeout);
    this.#endingTurn = { timer, done: close, finished: callback };
    this.forceEndTurn();
  }

  /** Flux sends no Metadata: this one is the client's, from what it sent and read. */
  #finish(): void {
    const duration = this.#bytesPerSecond ? this.#bytes / this.#bytesPerSecond : this.#heard;
    const metadata: FluxMetadataMessage = {
      type: 'Metadata',
      request_id: this.requestId ?? '',
      duration: Math.round(duration * 1e6) / 1e6,
      bytes: this.#bytes,
      sha256: this.#hash.digest('hex'),
      turns: this.#turns,
    };
    this.emit('metadata', metadata);
    this.push(metadata);
    this.push(null);
  }

  override _destroy(error: Error | null, callback: Callback): void {
    clearTimeout(this.#endingTurn?.timer);
    const closed = new DeepgramError('DG_CLOSED', 'the stream closed before Flux acknowledged this Configure');
    for (const pending of this.#configures.splice(0)) pending.failed(closed);
    this.#listen.destroy();
    callback(error);
  }
}

/** Opens a Flux session on `/v2/listen` as a Duplex. Options that can never work throw before connecting. */
export function createFluxStream(options: FluxStreamOptions = {}): FluxStream {
  return new FluxStream(options);
}
