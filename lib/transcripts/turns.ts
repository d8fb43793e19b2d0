// Flux runs through the same transforms as /v1 runs: a finished turn (EndOfTurn) is what a final utterance is there.
import type { Transform } from 'node:stream';
import { roundMicro, type Word } from '../protocol/messages.js';
import { isEndOfTurn, type TurnInfoMessage } from '../protocol/flux.js';
import { isFinal } from '../protocol/guards.js';
import { mapObjects } from './results.js';

/** One finished Flux turn. */
export interface Turn {
  type: 'Turn';
  /** `turn_index`: counts on across reconnects. */
  index: number;
  text: string;
  /** Seconds on the stream's timeline: the first word's start and the last word's end (else the audio window). */
  start: number;
  end: number;
  words: Word[];
  /** What ended it: `model`, `timeout`, `manual` (ForceEndTurn), or `client` (a last Update kept at close). */
  trigger?: string;
  languages?: string[];
}

/**
 * A turn's words as /v1 words: Flux words come punctuated and cased (so `punctuated_word` too), and may lack times;
 * those share the turn's audio window evenly.
 */
export function turnWords(m: TurnInfoMessage): Word[] {
  const span = (m.audio_window_end - m.audio_window_start) / Math.max(1, m.words.length);
  return m.words.map((w, i) => ({
    word: w.word,
    punctuated_word: w.word,
    confidence: w.confidence,
    start: w.start ?? roundMicro(m.audio_window_start + i * span),
    end: w.end ?? roundMicro(m.audio_window_start + (i + 1) * span),
  }));
}

/** The finished turn an EndOfTurn message says, or undefined for any other message. */
export function turnOf(m: { type: string }): Turn | undefined {
  if (!isEndOfTurn(m) || m.transcript === '') return undefined;
  const words = turnWords(m);
  return {
    type: 'Turn',
    index: m.turn_index,
    text: m.transcript,
    start: words[0]?.start ?? m.audio_window_start,
    end: words.at(-1)?.end ?? m.audio_window_end,
    words,
    ...(m.trigger === undefined ? {} : { trigger: m.trigger }),
    ...(m.languages === undefined ? {} : { languages: m.languages }),
  };
}

/** What a final says, on either protocol: a final Results on /v1, an EndOfTurn on Flux. */
export interface Final {
  text: string;
  start: number;
  end: number;
  words: Word[];
  /** It ends a stretch of speech: `speech_final` on /v1; always on Flux, where a turn is one. */
  endOfSpeech: boolean;
  /** The channel it is of, and how many the audio has (`multichannel`); 0 of 1 on Flux. */
  channel: number;
  channels: number;
}

/**
 * The one answer to "is this final?" for every consumer (text, captions, outputs, progress, the latency report):
 * what the message makes final, or undefined when it makes nothing final.
 */
export function finalOf(m: { type: string }): Final | undefined {
  if (isFinal(m)) {
    const alternative = m.channel.alternatives[0];
    const end = roundMicro(m.start + m.duration);
    const text = alternative?.transcript ?? '';
    const [channel = 0, channels = 1] = m.channel_index;
    const words = alternative?.words ?? [];
    return { text, start: m.start, end, words, endOfSpeech: m.speech_final, channel, channels };
  }
  if (!isEndOfTurn(m)) return undefined;
  const words = turnWords(m);
  const [start, end] = [m.audio_window_start, m.audio_window_end];
  return { text: m.transcript, start, end, words, endOfSpeech: true, channel: 0, channels: 1 };
}

/** One object per finished turn of a Flux run (text, start, end, words, trigger, index, languages). */
export function turns(): Transform {
  return mapObjects<{ type: string }, Turn>(turnOf);
}
