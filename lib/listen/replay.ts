// What a reconnect needs: the audio not yet covered by final results, and how the new session's timeline maps
// onto the stream's.
import { isCuttablePcm, parseWavHeader } from '../audio/wav.js';
import { cutScanner, onGrid, type Cut, type CutScanner } from '../audio/cuts/index.js';
import { HeldBytes } from './held.js';
import { rawLayout } from '../protocol/options.js';
import { roundMicro } from '../protocol/messages.js';
import type { SessionMessage } from '../protocol/flux.js';
import { isResults, isSpeechStarted, isUtteranceEnd } from '../protocol/guards.js';

/** Bytes looked at for a WAV header before giving up on cutting the audio by time. */
const HEADER_LIMIT = 65536;
/** How much further back than the latest cut a cut on the grid is looked for. */
const GRID_REACH = 2;
/** Default bound on the audio held for a replay: 64 MiB (about 35 minutes of 16 kHz linear16 not yet final). */
export const DEFAULT_REPLAY_LIMIT = 64 * 1024 * 1024;

export interface Replay {
  chunks: Buffer[];
  /** Stream seconds at which the new session's audio starts. */
  offset: number;
  /** Results the new session repeats (those ending by this time) are to be dropped. */
  duplicatesUntil: number;
}

/**
 * Audio sent but not yet covered by final results, held as copies. It is cut where finals have covered it: raw
 * audio and PCM WAV at the first uncovered sample; Ogg/Opus, WebM/Opus, MP3 and FLAC at the last page,
 * cluster or frame that starts by then, the rest of what the new session says again being dropped by the caller.
 * Audio that cannot be cut (another codec or container) is kept whole and replayed from the start. A replay sends
 * the stream's header again first. Past `limit` bytes held, it lets go of everything and says so in `overflow`: a
 * reconnect can then no longer be made without a gap.
 */
export class ReplayBuffer {
  readonly #held = new HeldBytes();
  readonly #limit: number;
  /** How the audio is cut: by byte rate (raw, WAV), by a container's cut points, or not at all (null). */
  #cutter: { byteRate: number; block: number } | CutScanner | null | undefined;
  #header?: Buffer;
  #headerEnd = 0;
  /** Cut points not yet passed, in order. */
  #cuts: Cut[] = [];
  /** Where a replay starts, and the stream time there. */
  #cut: Cut = { at: 0, time: 0 };
  #covered = 0;
  /** Set once more than `limit` bytes were held: why a replay is no longer possible. */
  overflow?: string;

  constructor(query: URLSearchParams, limit = DEFAULT_REPLAY_LIMIT) {
    this.#limit = limit;
    if (query.get('encoding') === null) return; // a container: its first bytes will tell
    const raw = rawLayout(query);
    // Compressed raw audio (opus, amr, …) has no byte rate to cut by.
    this.#cutter = raw ? { byteRate: raw.bytesPerSecond, block: raw.blockBytes } : null;
  }

  /** Held bytes, for tests and for memory figures. */
  get size(): number {
    return this.#held.size;
  }

  add(chunk: Buffer): void {
    if (this.overflow) return;
    this.#held.append(chunk);
    if (this.#held.size > this.#limit) {
      this.overflow = `the audio not yet covered by finals outgrew the replay limit of ${this.#limit} bytes`;
      this.#held.clear();
      this.#cuts = [];
      return;
    }
    if (this.#cutter === undefined) this.#choose();
    else if (this.#cutter !== null && 'push' in this.#cutter) this.#cutter.push(chunk);
  }

  /** From the first bytes: how this audio is cut. */
  #choose(): void {
    const head = Buffer.concat(this.#held.from(0));
    const wav = parseWavHeader(head);
    if (wav && isCuttablePcm(wav)) {
      this.#cutter = { byteRate: wav.byteRate, block: wav.blockAlign };
      this.#setHeader(wav.dataOffset);
    } else if (head.length >= 12 && head.toString('latin1', 0, 4) !== 'RIFF') {
      const scanner = cutScanner(head, {
        header: (end) => this.#setHeader(end),
        cut: (cut) => this.#cuts.push(cut),
      });
      this.#cutter = scanner ?? null;
      scanner?.push(head);
    } else if (wav || head.length >= HEADER_LIMIT) {
      this.#cutter = null;
    }
  }

  #setHeader(end: number): void {
    this.#headerEnd = end;
    this.#header = Buffer.concat(this.#held.from(0)).subarray(0, end);
    this.#cut = { at: end, time: 0 };
  }

  /** Final results now cover the stream up to `seconds`: the audio before it will not be needed again. */
  cover(seconds: number): void {
    this.#covered = Math.max(this.#covered, seconds);
    const cutter = this.#cutter;
    if (!cutter || this.overflow) return;
    if ('byteRate' in cutter) {
      // Finals end on sample boundaries; rounding absorbs the float error of start + duration.
      const bytes = Math.round((this.#covered * cutter.byteRate) / cutter.block) * cutter.block;
      const at = Math.min(this.#headerEnd + bytes, this.#held.end);
      this.#cut = { at, time: (at - this.#headerEnd) / cutter.byteRate };
    } else {
      // The latest cut by then (less the codec's pre-roll), or an earlier one on the grid (CUT_GRID) within GRID_REACH.
      const by = this.#covered - cutter.preRoll + 1e-6;
      let next = 0;
      while (next < this.#cuts.length && this.#cuts[next].time <= by) next++;
      if (next === 0) return;
      let chosen = next - 1;
      for (let i = chosen; i >= 0 && this.#cuts[next - 1].time - this.#cuts[i].time <= GRID_REACH; i--) {
        if (!onGrid(this.#cuts[i].time)) continue;
        chosen = i;
        break;
      }
      this.#cut = this.#cuts[chosen];
      this.#cuts.splice(0, chosen + 1);
    }
    this.#held.dropBefore(this.#cut.at);
  }

  replay(): Replay {
    const chunks = this.#held.from(this.#cut.at);
    const header = this.#cut.header?.() ?? this.#header;
    if (header?.length && this.#cut.at > 0) chunks.unshift(header);
    const { time } = this.#cut;
    return { chunks, offset: time, duplicatesUntil: this.#covered > time + 1e-6 ? this.#covered : 0 };
  }
}

const shift = (seconds: number, offset: number) => roundMicro(seconds + offset);

/** Moves a message from a session's own timeline onto the stream's, in place. */
export function rebase(message: SessionMessage, offset: number): SessionMessage {
  if (offset === 0) return message;
  if (isResults(message)) {
    message.start = shift(message.start, offset);
    for (const word of message.channel.alternatives.flatMap((alternative) => alternative.words)) {
      word.start = shift(word.start, offset);
      word.end = shift(word.end, offset);
    }
  } else if (isSpeechStarted(message)) {
    message.timestamp = shift(message.timestamp, offset);
  } else if (isUtteranceEnd(message)) {
    message.last_word_end = shift(message.last_word_end, offset);
  }
  return message;
}

/**
 * Whether a message from a replayed session only repeats what was already read. A result that runs across the
 * cut-off keeps only what comes after it (its start moved there, its earlier words dropped), as the session that
 * ran through said it.
 */
export function repeats(message: SessionMessage, until: number): boolean {
  if (isResults(message)) {
    const end = message.start + message.duration;
    if (end <= until + 1e-6) return true;
    if (message.start < until - 1e-6) {
      message.duration = roundMicro(end - until);
      message.start = roundMicro(until);
      for (const alternative of message.channel.alternatives) {
        const kept = alternative.words.filter((word) => word.start >= until - 1e-6);
        if (kept.length === alternative.words.length) continue;
        alternative.words = kept;
        alternative.transcript = kept.map((word) => word.punctuated_word ?? word.word).join(' ');
      }
    }
    return false;
  }
  if (isSpeechStarted(message)) return message.timestamp < until - 1e-6;
  if (isUtteranceEnd(message)) return message.last_word_end < until - 1e-6;
  return false;
}
