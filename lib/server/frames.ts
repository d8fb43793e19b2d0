// Audio as the stand-in models hear it: 20 ms frames and their energy. Time is counted in whole frames, so that a
// session started at another point of the same audio (a reconnect's replay) decides exactly as the first did;
// seconds appear only in what is sent.
import type { Pcm } from './pcm.js';

export const FRAME_SECONDS = 0.02;
/** RMS above this (about -40 dBFS) is speech. */
export const SPEECH_RMS = 0.01;
/** Silence that ends a word: 60 ms. */
export const WORD_GAP = 3;
/** Longest word: 0.5 s. */
export const MAX_WORD = 25;
export const framesOf = (ms: number) => Math.ceil(ms / 20);

/** The energy (RMS) of every 20 ms frame of audio, per track: a channel each, or one mix of every channel. */
export class FrameMeter {
  readonly #sums: Float64Array;
  /** Handed to `onFrame`, and refilled for the next frame: read it there, do not keep it. */
  readonly #rms: number[];
  #fill = 0;
  #length = 0;
  #sampleRate = 0;
  #samplesPerChannel = 0;

  constructor(
    private readonly tracks: number,
    private readonly onFrame: (rms: readonly number[]) => void,
  ) {
    this.#sums = new Float64Array(tracks);
    this.#rms = new Array<number>(tracks).fill(0);
  }

  /** Seconds of audio per channel taken so far. */
  get duration(): number {
    return this.#sampleRate === 0 ? 0 : this.#samplesPerChannel / this.#sampleRate;
  }

  push({ samples, scale, channels, sampleRate }: Pcm): void {
    if (this.#sampleRate === 0) {
      this.#sampleRate = sampleRate;
      this.#length = Math.round(sampleRate * FRAME_SECONDS);
    }
    const tracks = this.tracks;
    const frames = samples.length / channels;
    const sums = this.#sums;
    // A run at a time, up to the end of the current 20 ms frame: this runs over every sample of every session. Below
    // 25 Hz a frame holds no sample, and no frame is ever heard.
    for (let i = 0; i < frames && this.#length > 0;) {
      const end = Math.min(frames, i + this.#length - this.#fill);
      this.#fill += end - i;
      if (channels === 1) {
        let sum = sums[0];
        for (; i < end; i++) sum += samples[i] * samples[i];
        sums[0] = sum;
      } else if (tracks === 1) {
        for (; i < end; i++) {
          let value = 0;
          for (let c = 0; c < channels; c++) value += samples[i * channels + c];
          value /= channels;
          sums[0] += value * value;
        }
      } else {
        for (; i < end; i++)
          for (let t = 0; t < tracks; t++) {
            const value = samples[i * channels + Math.min(t, channels - 1)];
            sums[t] += value * value;
          }
      }
      if (this.#fill === this.#length) {
        for (let t = 0; t < tracks; t++) this.#rms[t] = Math.sqrt(sums[t] / this.#length) * scale;
        this.onFrame(this.#rms);
        sums.fill(0);
        this.#fill = 0;
      }
    }
    this.#samplesPerChannel += frames;
  }
}

/**
 * Words in one track's frames, for both stand-in models: a word starts at a speech frame, ends after WORD_GAP silent
 * frames (at its last speech frame) or once it is MAX_WORD long, and carries a hash of its frames' energies (FNV-1a),
 * so that without a script the word said is a function of its audio alone. Times are frame counts.
 */
export class WordDetector {
  #frames = 0;
  #start: number | undefined;
  #lastSpeechEnd = 0;
  #silence = 0;
  #hash = 0x811c9dc5;

  constructor(private readonly word: (start: number, end: number, hash: number) => void) {}

  /** Frames heard. */
  get frames(): number {
    return this.#frames;
  }

  /** Silent frames in a row, up to now. */
  get silence(): number {
    return this.#silence;
  }

  get inWord(): boolean {
    return this.#start !== undefined;
  }

  get lastSpeechEnd(): number {
    return this.#lastSpeechEnd;
  }

  /** The next frame's energy: 'start' when a word starts with it, 'speech' within one, else 'silence'. */
  frame(rms: number): 'start' | 'speech' | 'silence' {
    const start = this.#frames++;
    const end = this.#frames;
    if (rms <= SPEECH_RMS) {
      this.#silence++;
      if (this.#silence >= WORD_GAP) this.close(this.#lastSpeechEnd);
      return 'silence';
    }
    const starting = this.#start === undefined;
    if (starting) this.#hash = 0x811c9dc5;
    const begun = (this.#start ??= start);
    this.#hash = Math.imul(this.#hash ^ Math.round(rms * 1000), 0x01000193) >>> 0;
    this.#lastSpeechEnd = end;
    this.#silence = 0;
    if (end - begun >= MAX_WORD) this.close(end);
    return starting ? 'start' : 'speech';
  }

  /** Ends the open word at `end` (a frame count), if one is open. */
  close(end: number): void {
    const start = this.#start;
    if (start === undefined) return;
    this.#start = undefined;
    this.word(start, end, this.#hash);
  }
}

/**
 * Where script words not yet said go when the speech found has fewer words than the script (words run together):
 * `count` equal parts of [from, to), the time of the last word said, which they share with it.
 */
export function spread(count: number, from: number, to: number): [number, number][] {
  return Array.from({ length: count }, (_, i) => [
    Math.round((from + ((to - from) * i) / count) * 1e6) / 1e6,
    Math.round((from + ((to - from) * (i + 1)) / count) * 1e6) / 1e6,
  ]);
}
