// Flux's policy on the one listen stream: turns counted across reconnects, Configure one at a time (the next after
// the last one's acknowledgement, a changed configuration restored on a new session), no turn lost at the end
// (ForceEndTurn, its answer awaited before CloseStream), and the Metadata Flux does not send made from the audio.
import { isDeepStrictEqual } from 'node:util';
import { DeepgramError } from './errors.js';
import type { SessionHost, SessionPolicy } from './protocol.js';
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
  type FluxMetadataMessage,
  type SessionMessage,
  type TurnInfoMessage,
} from '../protocol/flux.js';

export type Ack = ConfigureSuccessMessage | ConfigureFailureMessage;

interface PendingConfigure {
  message: FluxConfigure;
  done: (ack: Ack) => void;
  failed: (e: Error) => void;
  /** The configuration set again on a new session after a drop, by the stream itself. */
  restore?: true;
}

export class FluxPolicy implements SessionPolicy<FluxMetadataMessage> {
  readonly #endTurnTimeout: number;
  readonly #configures: PendingConfigure[] = [];
  #host!: SessionHost;
  /**
   * The configuration the session runs with, once a Configure has needed it (until then it is the query's, and a
   * thousand streams keep no thousand copies): a reconnect restores it where it differs from the query's.
   */
  #config?: FluxConfig;
  /** Whether the first of `#configures` is on the wire, awaiting its acknowledgement. */
  #configureSent = false;
  /** Turns ended in earlier sessions: a reconnected session counts its turns from 0 again. */
  #turnBase = 0;
  #turns = 0;
  /** The furthest audio time a TurnInfo has reached: what the server has heard. */
  #heard = 0;
  /** The open turn's latest TurnInfo; undefined between turns. */
  #turn?: TurnInfoMessage;
  /** At the end, what sends CloseStream once the open turn's answer has come. */
  #close?: () => void;

  constructor(
    endTurnTimeout = 5000,
    readonly hashes = false,
  ) {
    this.#endTurnTimeout = endTurnTimeout;
  }

  attach(host: SessionHost): void {
    this.#host = host;
  }

  #current(): FluxConfig {
    return (this.#config ??= configOf(this.#host.query()));
  }

  /** Queues a checked Configure; resolves with its acknowledgement. */
  configure(message: FluxConfigure): Promise<Ack> {
    const config = this.#current();
    const checked = applyConfigure(config, message, config.language_hints !== undefined);
    if (!('config' in checked))
      throw new DeepgramError('DG_OPTIONS', `Configure: ${'fatal' in checked ? checked.fatal : checked.description}`);
    return new Promise((done, failed) => {
      this.#configures.push({ message, done, failed });
      if (this.#configures.length === 1) this.#send(message);
    });
  }

  forceEndTurn(): void {
    this.#send({ type: 'ForceEndTurn' });
  }

  message(message: SessionMessage): SessionMessage | undefined {
    if (isTurnInfo(message)) {
      message.turn_index += this.#turnBase;
      this.#heard = Math.max(this.#heard, message.audio_window_end);
      if (message.event === 'EndOfTurn') {
        this.#turn = undefined;
        this.#turns++;
        this.#closeNow();
      } else if (message.event !== 'Update' || this.#turn) this.#turn = message;
    } else if (isConfigureAck(message)) {
      this.#acknowledged(message);
    } else if (isFluxNotice(message)) {
      if (message.type === 'Error') return this.#fatal(message.code, message.description);
      // The answer to the end's own ForceEndTurn when no turn was open: the stream's business, not the reader's.
      if (this.#close && message.code === 'FORCE_END_TURN_NO_ACTIVE_TURN') return void this.#closeNow();
      this.#host.warn({ code: message.code, description: message.description });
    }
    return message;
  }

  /**
   * A drop: the new session's turns count on from the last session's; its configuration is set again to what
   * Configure had made it, before the replayed audio; a Configure left unanswered and the end's ForceEndTurn go again.
   */
  reconnected(): void {
    this.#turnBase = this.#turns;
    this.#configureSent = false; // the old session's answer will never come
    if (this.#config && !isDeepStrictEqual(this.#config, configOf(this.#host.query()))) {
      const { thresholds, keyterms, numerals, language_hints } = this.#config;
      const restore: FluxConfigure = { type: 'Configure', thresholds, keyterms, numerals };
      if (language_hints) restore.language_hints = language_hints;
      this.#configures.unshift({ message: restore, done: () => {}, failed: () => {}, restore: true });
    }
    // Once CloseStream has gone, the new session only hears the replayed audio out, as the old one would have.
    if (this.#host.closing()) return;
    const pending = this.#configures.find((c) => !c.restore);
    if (pending && pending === this.#configures[0]) this.#send(pending.message);
    if (this.#close) this.#endTurn();
  }

  beforeReplay(): string[] {
    if (!this.#configures[0]?.restore) return [];
    this.#configureSent = true;
    return [JSON.stringify(this.#configures[0].message)];
  }

  /**
   * ForceEndTurn, then CloseStream once its answer (EndOfTurn, or the warning that no turn was open) has come, or
   * the server has made no progress for `endTurnTimeout` ms. Always sent: whether the last audio opens a turn is
   * known only once the server has heard it.
   */
  ending(close: () => void): void {
    this.#close = close;
    this.#endTurn();
  }

  #endTurn(): void {
    this.#host.deadline(this.#endTurnTimeout, () => this.#closeNow());
    this.forceEndTurn();
  }

  #closeNow(): void {
    const close = this.#close;
    this.#close = undefined;
    close?.();
  }

  /** Flux sends no Metadata: this one is the client's, from what it sent and read. */
  metadata(): FluxMetadataMessage {
    const { bytes, sha256 } = this.#host.audio();
    const duration = this.#host.audioSent() ?? this.#heard;
    const request_id = this.#host.requestId() ?? '';
    const metadata: FluxMetadataMessage = {
      type: 'Metadata',
      request_id,
      duration: Math.round(duration * 1e6) / 1e6,
      bytes,
      turns: this.#turns,
    };
    if (this.hashes) metadata.sha256 = sha256;
    return metadata;
  }

  destroyed(): void {
    if (this.#configures.length === 0) return; // the usual end: no error made (and its stack taken) for no one
    const closed = new DeepgramError('DG_CLOSED', 'the stream closed before Flux acknowledged this Configure');
    for (const pending of this.#configures.splice(0)) pending.failed(closed);
  }

  #send(message: { type: string; [field: string]: unknown }): void {
    if (message.type === 'Configure') this.#configureSent = true;
    this.#host.control(message);
  }

  #acknowledged(ack: Ack): void {
    // A server answering one Configure twice: an answer with none in flight, or a success that repeats the
    // configuration held when the one in flight changes it, answers nothing of ours.
    if (!this.#configureSent) return;
    let config: FluxConfig | undefined;
    if (ack.type === 'ConfigureSuccess') {
      const { type: _, request_id: __, sequence_id: ___, ...echoed } = ack;
      const current = this.#current();
      const next = applyConfigure(current, this.#configures[0].message, current.language_hints !== undefined);
      const changes = 'config' in next && !isDeepStrictEqual(next.config, current);
      if (changes && isDeepStrictEqual(echoed, current)) return;
      config = echoed;
    }
    this.#configureSent = false;
    const sent = this.#configures.shift();
    if (config) this.#config = config;
    sent?.done(ack);
    if (this.#configures.length > 0) this.#send(this.#configures[0].message);
  }

  /**
   * A fatal Error. One that answers the end's own ForceEndTurn means the deployment lacks it: the last Update stands
   * as the turn's final text, and the stream still ends cleanly.
   */
  #fatal(code: string, description: string): undefined {
    if (this.#close && code === 'UNPARSABLE_CLIENT_MESSAGE') {
      const turn = this.#turn;
      this.#host.warn({
        code: 'FORCE_END_TURN_REFUSED',
        description: `this deployment refused ForceEndTurn (${description}): the last Update is the turn's final text`,
      });
      if (turn) this.#turns++;
      this.#closeNow();
      this.#host.finish(turn && { ...turn, event: 'EndOfTurn', trigger: 'client' });
      return;
    }
    const requestId = this.#host.requestId();
    this.#host.failed(
      new DeepgramError('DG_SERVER', `Flux ended the session: ${code}: ${description}`, { dgError: code, requestId }),
    );
  }
}
