// The local server's stand-in for Flux's turn model (flux spec §5). Words sit where the audio has speech, as in the
// /v1 recognizer; a TurnInfo goes out for every 0.24 s of audio received (audio time, never wall time). The model's
// end-of-turn confidence grows with the silence after the last word: 0.1 for every 50 ms, to 0.99.
import { roundMicro } from '../protocol/messages.js';
import type { FluxConfig, FluxWord, TurnEvent, TurnInfoMessage } from '../protocol/flux.js';
import { FrameMeter, FRAME_SECONDS, spread, WordDetector } from './frames.js';
import type { Pcm } from './pcm.js';
import { DEFAULT_WORDS } from './recognizer.js';

/** One TurnInfo per 12 frames: 0.24 s of audio. */
const STEP = 12;
/** Silence (ms) per 1.0 of end-of-turn confidence. */
const SILENCE_PER_CONFIDENCE = 500;

export type TurnMessage = Omit<TurnInfoMessage, 'type' | 'request_id' | 'sequence_id'>;

const seconds = (frames: number) => roundMicro(frames * FRAME_SECONDS);

export class FluxTurns {
  readonly #meter = new FrameMeter(1, ([rms]) => this.#frame(rms));
  readonly #detector = new WordDetector((start, end, hash) => this.#closeWord(start, end, hash));
  #words: FluxWord[] = [];
  #scriptAt = 0;
  #turn = 0;
  #inTurn = false;
  #eager = false;
  #resumed = false;
  #windowStart = 0;

  constructor(
    private readonly config: () => FluxConfig,
    private readonly emit: (message: TurnMessage) => void,
    private readonly script: string[] | undefined,
    private readonly multi: boolean,
  ) {}

  get duration(): number {
    return this.#meter.duration;
  }

  push(pcm: Pcm): void {
    this.#meter.push(pcm);
  }

  /**
   * ForceEndTurn, in order with the audio: the open turn ends now, or there is none (false). It is how a client ends
   * its audio, so script words not yet said go into this turn, sharing its last word's time (as /v1 does at the end).
   */
  forceEnd(): boolean {
    this.#detector.close(this.#detector.frames);
    if (this.#words.length === 0) return false;
    const last = this.#words.at(-1)!;
    if (this.script && this.#scriptAt < this.script.length && last.start !== undefined && last.end !== undefined) {
      this.#words.pop();
      this.#scriptAt--; // said again, sharing its time with the rest
      for (const [start, end] of spread(this.script.length - this.#scriptAt, last.start, last.end))
        this.#words.push(this.#word(this.#scriptAt++, start, end));
    }
    if (!this.#inTurn) this.#send('StartOfTurn');
    this.#endTurn('manual');
    return true;
  }

  /** CloseStream: the audio received is decoded to its end, and a last step sent for any part step; no turn ends. */
  flush(): void {
    this.#detector.close(this.#detector.lastSpeechEnd);
    if (this.#detector.frames % STEP !== 0) this.#step();
  }

  #frame(rms: number): void {
    if (this.#detector.frame(rms) !== 'silence' && this.#eager) this.#resumed = true;
    if (this.#detector.frames % STEP === 0) this.#step();
  }

  #closeWord(start: number, end: number, hash: number): void {
    this.#words.push(this.#word(this.script ? this.#scriptAt++ : hash, seconds(start), seconds(end)));
  }

  /** The script's word at `key` (or the word list's, by the audio's hash), between two times in seconds. */
  #word(key: number, start: number, end: number): FluxWord {
    const word = this.script ? this.script[key % this.script.length] : DEFAULT_WORDS[key % DEFAULT_WORDS.length];
    return { word, confidence: roundMicro(0.9 + (key % 10) / 100), start, end };
  }

  #confidence(): number {
    if (this.#words.length === 0 || this.#detector.inWord) return 0.01;
    return Math.min(0.99, roundMicro((this.#detector.silence * 20) / SILENCE_PER_CONFIDENCE));
  }

  /** One message for the step just ended: a change of state if there is one, else an Update. */
  #step(): void {
    const { eot_threshold: eot, eager_eot_threshold: eager, eot_timeout_ms: timeout } = this.config().thresholds;
    const confidence = this.#confidence();
    const silent = this.#words.length > 0 && !this.#detector.inWord;
    if (!this.#inTurn) {
      if (this.#words.length === 0) return this.#send('Update');
      this.#inTurn = true;
      return this.#send('StartOfTurn');
    }
    if (this.#eager && this.#resumed) {
      this.#eager = this.#resumed = false;
      return this.#send('TurnResumed');
    }
    if (silent && eager !== undefined && !this.#eager && confidence >= eager) {
      this.#eager = true;
      this.#send('EagerEndOfTurn');
      // Both thresholds crossed within one step: the turn ends in it too, its EagerEndOfTurn first.
      if (eot < 1 && confidence >= eot) this.#endTurn('model');
      return;
    }
    if (silent && eot < 1 && confidence >= eot) return this.#endTurn('model');
    if (silent && this.#detector.silence * 20 >= timeout) return this.#endTurn('timeout');
    this.#send('Update');
  }

  #endTurn(trigger: string): void {
    this.#send('EndOfTurn', trigger);
    this.#turn++;
    this.#words = [];
    this.#inTurn = this.#eager = this.#resumed = false;
    this.#windowStart = seconds(this.#detector.frames);
  }

  #send(event: TurnEvent, trigger?: string): void {
    const transcript = this.#words.map((w) => w.word).join(' ');
    this.emit({
      event,
      turn_index: this.#turn,
      audio_window_start: this.#windowStart,
      audio_window_end: seconds(this.#detector.frames),
      transcript,
      words: this.#words.map((w) => ({ ...w })),
      end_of_turn_confidence: this.#confidence(),
      ...(trigger ? { trigger } : {}),
      ...(this.multi
        ? { languages: transcript ? ['en'] : [], languages_hinted: this.config().language_hints ?? [] }
        : {}),
    });
  }
}
