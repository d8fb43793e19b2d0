// Who said it: a channel's (multichannel) and a speaker's (diarize) label for text and captions, and the order in
// which finals of several channels are written: by time across the channels, not as each channel's arrive.
import type { Word } from '../protocol/messages.js';
import type { Final } from './turns.js';

/** `Channel 1, Speaker 0`, or '' when there is neither to tell (one channel, no speakers). */
export function labelOf(channel: number, channels: number, speaker: number | undefined): string {
  const parts = [channels > 1 ? `Channel ${channel}` : '', speaker === undefined ? '' : `Speaker ${speaker}`];
  return parts.filter(Boolean).join(', ');
}

/** A final's words in runs of one speaker each (one run, with no speaker, when words carry none). */
export function speakerRuns(words: Word[]): { speaker?: number; text: string }[] {
  const runs: { speaker?: number; words: string[] }[] = [];
  for (const word of words) {
    const last = runs.at(-1);
    const text = word.punctuated_word ?? word.word;
    if (last && last.speaker === word.speaker) last.words.push(text);
    else runs.push({ speaker: word.speaker, words: [text] });
  }
  return runs.map(({ speaker, words: list }) => ({ speaker, text: list.join(' ') }));
}

/**
 * Holds what a channel's finals made until every channel seen has reached its start, so that items of several
 * channels come out in time order. With one channel, each item goes at once.
 */
export class TimeOrder<T> {
  readonly #reached = new Map<number, number>();
  #held: { start: number; item: T }[] = [];

  /** Items made from `final` (each with its start); returns those now due, in time order. */
  add(final: Final, items: { start: number; item: T }[]): T[] {
    this.#reached.set(final.channel, final.end);
    this.#held.push(...items);
    const due =
      final.channels > 1 && this.#reached.size < final.channels ? -Infinity : Math.min(...this.#reached.values());
    return this.#release((start) => start <= due);
  }

  /** Everything still held, with `rest`, in time order. */
  flush(rest: { start: number; item: T }[] = []): T[] {
    this.#held.push(...rest);
    return this.#release(() => true);
  }

  #release(due: (start: number) => boolean): T[] {
    this.#held.sort((a, b) => a.start - b.start);
    const out = this.#held.filter((h) => due(h.start));
    this.#held = this.#held.filter((h) => !due(h.start));
    return out.map((h) => h.item);
  }
}
