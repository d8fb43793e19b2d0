// What a reconnect needs: the audio not yet covered by final results, and how the new session's timeline maps
// onto the stream's.
import { isCuttablePcm, parseWavHeader } from '../audio/wav.js';
import { rawLayout } from '../protocol/options.js';
import { roundMicro, type ServerMessage } from '../protocol/messages.js';
import { isResults, isSpeechStarted, isUtteranceEnd } from '../protocol/guards.js';

/** Bytes looked at for a WAV header before giving up on cutting the audio by time. */
const HEADER_LIMIT = 65536;
/** Default bound on the audio held for a replay: 64 MiB (about 35 minutes of 16 kHz linear16 not yet final). */
export const DEFAULT_REPLAY_LIMIT = 64 * 1024 * 1024;

interface Layout {
  byteRate: number;
  /** Bytes per sample frame: audio is cut only between frames. */
  block: number;
  /** Container header to send again before replayed audio (WAV); empty for raw audio. */
  header: Buffer;
}

export interface Replay {
  chunks: Buffer[];
  /** Stream seconds at which the new session's audio starts. */
  offset: number;
  /** Results the new session repeats (those ending by this time) are to be dropped. */
  duplicatesUntil: number;
}

/**
 * Audio sent but not yet covered by final results. Raw audio and WAV are trimmed as finals arrive and replayed
 * from the first uncovered sample (WAV behind its header again). Other containers cannot be cut by time: they are
 * kept whole, replayed from the start, and what the new session repeats is dropped. Past `limit` bytes held, it
 * lets go of everything and says so in `overflow`: a reconnect can then no longer be made without a gap.
 */
export class ReplayBuffer {
  /** undefined while the first bytes are still being read; null once known that the audio cannot be cut. */
  #layout: Layout | null | undefined;
  #head: Buffer[] = [];
  #chunks: Buffer[] = [];
  /** Audio bytes trimmed from the front, after the header. */
  #trimmed = 0;
  #covered = 0;
  #size = 0;
  readonly #limit: number;
  /** Set once more than `limit` bytes were held: why a replay is no longer possible. */
  overflow?: string;

  constructor(query: URLSearchParams, limit = DEFAULT_REPLAY_LIMIT) {
    this.#limit = limit;
    if (query.get('encoding') === null) return; // a container: its first bytes will tell
    const raw = rawLayout(query);
    // Compressed raw audio (opus, amr, …) has no byte rate to cut by.
    this.#layout = raw ? { byteRate: raw.bytesPerSecond, block: raw.blockBytes, header: Buffer.alloc(0) } : null;
  }

  /** Held bytes, for tests and for memory figures. */
  get size(): number {
    return this.#size;
  }

  add(chunk: Buffer): void {
    if (this.overflow) return;
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      this.overflow = `the audio not yet covered by finals outgrew the replay limit of ${this.#limit} bytes`;
      this.#head = [];
      this.#chunks = [];
      this.#size = 0;
      return;
    }
    if (this.#layout !== undefined) {
      this.#chunks.push(chunk);
      return;
    }
    this.#head.push(chunk);
    const head = Buffer.concat(this.#head);
    const wav = parseWavHeader(head);
    if (wav && isCuttablePcm(wav)) {
      this.#layout = { byteRate: wav.byteRate, block: wav.blockAlign, header: head.subarray(0, wav.dataOffset) };
      this.#head = [];
      if (head.length > wav.dataOffset) this.#chunks.push(head.subarray(wav.dataOffset));
    } else if (wav || head.length >= HEADER_LIMIT || (head.length >= 4 && head.toString('latin1', 0, 4) !== 'RIFF')) {
      this.#layout = null;
      this.#chunks = this.#head;
      this.#head = [];
    }
  }

  /** Final results now cover the stream up to `seconds`: the audio before it will not be needed again. */
  cover(seconds: number): void {
    this.#covered = Math.max(this.#covered, seconds);
    const layout = this.#layout;
    if (!layout) return;
    // Finals end on sample boundaries; rounding absorbs the float error of start + duration.
    let drop = Math.round((seconds * layout.byteRate) / layout.block) * layout.block - this.#trimmed;
    while (drop > 0 && this.#chunks.length > 0) {
      const first = this.#chunks[0];
      const taken = Math.min(first.length, drop);
      if (taken === first.length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(taken);
      drop -= taken;
      this.#trimmed += taken;
      this.#size -= taken;
    }
  }

  replay(): Replay {
    const layout = this.#layout;
    if (!layout) return { chunks: [...this.#head, ...this.#chunks], offset: 0, duplicatesUntil: this.#covered };
    const chunks = layout.header.length > 0 ? [layout.header, ...this.#chunks] : [...this.#chunks];
    return { chunks, offset: this.#trimmed / layout.byteRate, duplicatesUntil: 0 };
  }
}

const shift = (seconds: number, offset: number) => roundMicro(seconds + offset);

/** Moves a message from a session's own timeline onto the stream's, in place. */
export function rebase(message: ServerMessage, offset: number): ServerMessage {
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

/** Whether a message from a replayed session only repeats what was already read. */
export function repeats(message: ServerMessage, until: number): boolean {
  if (isResults(message)) return message.start + message.duration <= until + 1e-6;
  if (isSpeechStarted(message)) return message.timestamp < until - 1e-6;
  if (isUtteranceEnd(message)) return message.last_word_end < until - 1e-6;
  return false;
}
