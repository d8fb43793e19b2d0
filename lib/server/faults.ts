// Misbehaviour on request: every fault the local server can inject, applied in this one place. A session tells it
// what happens (it starts, audio arrives, a message goes out, CloseStream comes) and gives it the means to act.

/** Misbehaviour on request, for one connection. */
export interface Faults {
  /** Drop the TCP connection (no close frame) once this many audio bytes have arrived. */
  dropAfterBytes?: number;
  /** Drop the TCP connection this many ms after the upgrade. */
  dropAfterMs?: number;
  /** Close with 1011 NET-0000 this many ms after the upgrade. */
  net0000AfterMs?: number;
  /** Delay every message and the close by this many ms. */
  latencyMs?: number;
  /** Send a frame that is not JSON after this many messages (0: before the first). */
  malformedAfter?: number;
  /** Take CloseStream and then say nothing more, never closing. */
  hangOnClose?: boolean;
  /**
   * Hang once this many audio bytes have arrived: stop reading the TCP socket and say nothing more, pongs included,
   * without closing, as a dead proxy or a lost network does.
   */
  hangAfterBytes?: number;
  /** Flux: refuse ForceEndTurn as a deployment without it does (a fatal UNPARSABLE_CLIENT_MESSAGE). */
  noForceEndTurn?: boolean;
}

/** What a fault can do to its session. */
export interface FaultActions {
  /** Drop the TCP connection, with no close frame. */
  drop(): void;
  /** Stop reading the TCP connection and sending anything on it, never closing. */
  hang(): void;
  /** Metadata, then 1011 NET-0000. */
  net0000(): void;
  /** A frame as it is, bypassing the faults. */
  sendRaw(text: string): void;
  /** Run `action` in `ms`, on a timer the session clears when it ends. */
  after(ms: number, action: () => void): void;
}

const MALFORMED = '{"type":"Results","channel_index":[0,1],';

export class FaultInjector {
  readonly #faults: Faults;
  readonly #act: FaultActions;
  #sent = 0;

  constructor(faults: Faults, act: FaultActions) {
    this.#faults = faults;
    this.#act = act;
  }

  /** The upgrade is done. */
  start(): void {
    const { dropAfterMs, net0000AfterMs, malformedAfter } = this.#faults;
    if (dropAfterMs !== undefined) this.#act.after(dropAfterMs, this.#act.drop);
    if (net0000AfterMs !== undefined) this.#act.after(net0000AfterMs, this.#act.net0000);
    if (malformedAfter === 0) this.#act.sendRaw(MALFORMED);
  }

  /** `total` audio bytes have arrived; true when the connection was dropped for it. */
  audio(total: number): boolean {
    const { dropAfterBytes, hangAfterBytes } = this.#faults;
    if (hangAfterBytes !== undefined && total >= hangAfterBytes) {
      this.#act.hang();
      return true;
    }
    if (dropAfterBytes === undefined || total < dropAfterBytes) return false;
    this.#act.drop();
    return true;
  }

  /** Runs what the client would see (a message, the close) after the added latency, if any. */
  later(action: () => void): void {
    const latency = this.#faults.latencyMs;
    if (latency) this.#act.after(latency, action);
    else action();
  }

  /** A message went out. */
  sent(): void {
    if (++this.#sent === this.#faults.malformedAfter) this.#act.sendRaw(MALFORMED);
  }

  /** Whether CloseStream is taken and then nothing more said. */
  get hangsOnClose(): boolean {
    return this.#faults.hangOnClose === true;
  }
}
