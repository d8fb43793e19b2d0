// The Flux Duplex: the one session stream speaking /v2/listen (pings for keep-alive, 1005 after CloseStream is
// clean) with Flux's policy (flux-policy.ts): Configure one at a time, no turn lost at end(), its own Metadata.
import { SessionStream, type OpenEvent } from './stream.js';
import { LISTEN_FLUX } from './protocol.js';
import { FluxPolicy, type Ack } from './flux-policy.js';
import type { SessionOptions } from './options.js';
import type { ReconnectEvent } from './reconnect.js';
import type { FluxConfigure, FluxMessage, FluxMetadataMessage, FluxQuery } from '../protocol/flux.js';

export interface FluxStreamOptions extends SessionOptions<FluxQuery> {
  /** At end(), ms without progress while waiting for ForceEndTurn's EndOfTurn before closing anyway. Default 5000. */
  endTurnTimeout?: number;
  /**
   * The Metadata says the sha256 of every byte written. Off by default: Flux confirms no hash, so this is only the
   * client's own, and hashing all the audio costs about a tenth more CPU at a thousand live streams.
   */
  sha256?: boolean;
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
  on(event: 'open', listener: (event: OpenEvent) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** A Duplex over one Flux session on `/v2/listen`; `end()` ends the open turn, then sends CloseStream. */
export class FluxStream extends SessionStream<FluxMessage, FluxMetadataMessage> {
  readonly #policy: FluxPolicy;

  constructor(options: FluxStreamOptions = {}) {
    const { endTurnTimeout, sha256, ...sessionOptions } = options;
    const query = { model: 'flux-general-en' as const, ...options.query };
    const policy = new FluxPolicy(endTurnTimeout, sha256);
    super({ ...sessionOptions, query }, LISTEN_FLUX, policy);
    this.#policy = policy;
  }

  /**
   * Changes thresholds, keyterms, language hints or numerals mid-stream, in order with the audio. One Configure is in
   * flight at a time; the next goes once Flux has acknowledged it. Resolves with the acknowledgement: check its
   * `type` (ConfigureFailure says why in `code` and `description`). Values out of range throw `DG_OPTIONS` here.
   */
  configure(change: Omit<FluxConfigure, 'type'>): Promise<Ack> {
    return this.#policy.configure({ type: 'Configure', ...change });
  }

  /** Ends the open turn now (EndOfTurn with `trigger: "manual"`), in order with the audio written before. */
  forceEndTurn(): void {
    this.#policy.forceEndTurn();
  }
}

/** Opens a Flux session on `/v2/listen` as a Duplex. Options that can never work throw before connecting. */
export function createFluxStream(options: FluxStreamOptions = {}): FluxStream {
  return new FluxStream(options);
}
