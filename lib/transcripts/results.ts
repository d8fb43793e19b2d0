import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { ResultsMessage, ServerMessage, Word } from '../protocol/messages.js';
import { isFinal, isResults, isSpeechStarted, isUtteranceEnd } from '../protocol/guards.js';
import { isTurnInfo, type FluxMessage } from '../protocol/flux.js';
import { labelOf, speakerRuns, TimeOrder } from './labels.js';
import { finalOf, turnOf } from './turns.js';

export const transcriptOf = (results: ResultsMessage): string => results.channel.alternatives[0]?.transcript ?? '';
export const wordsOf = (results: ResultsMessage): Word[] => results.channel.alternatives[0]?.words ?? [];

/** An object-mode Transform from a function that may return nothing (dropped), one item, or several. */
export function mapObjects<I, O>(map: (item: I) => O | O[] | undefined, flush?: () => O[]): Transform {
  return new Transform({
    objectMode: true,
    // A throw in `map` or `flush` (an object no stage expected) is a stream error, never an uncaught exception.
    transform(item: I, _encoding, callback: TransformCallback) {
      let out: O | O[] | undefined;
      try {
        out = map(item);
      } catch (error) {
        return callback(error as Error);
      }
      if (Array.isArray(out)) for (const o of out) this.push(o);
      else if (out !== undefined) this.push(out);
      callback();
    },
    flush(callback: TransformCallback) {
      let out: O[];
      try {
        out = flush?.() ?? [];
      } catch (error) {
        return callback(error as Error);
      }
      for (const o of out) this.push(o);
      callback();
    },
  });
}

/** Final Results only; empty finals (silence) are dropped unless `keepEmpty`. */
export function finalsOnly(options: { keepEmpty?: boolean } = {}): Transform {
  return mapObjects<ServerMessage, ResultsMessage>((m) =>
    isFinal(m) && (options.keepEmpty || transcriptOf(m) !== '') ? m : undefined,
  );
}

/** Results of one channel of a multichannel session; other messages pass when their channel matches too. */
export function channelFilter(index: number): Transform {
  return mapObjects<ServerMessage, ServerMessage>((m) => {
    const channel = isResults(m)
      ? m.channel_index[0]
      : isSpeechStarted(m) || isUtteranceEnd(m)
        ? m.channel[0]
        : undefined;
    return channel === undefined || channel === index ? m : undefined;
  });
}

/** One readable per channel of a multichannel session, each with that channel's messages. */
export function splitChannels(source: Readable, count: number): Readable[] {
  return Array.from({ length: count }, (_, i) => source.pipe(channelFilter(i)));
}

export interface Utterance {
  type: 'Utterance';
  text: string;
  start: number;
  end: number;
  channel: number;
  speaker?: number;
  words: Word[];
}

/**
 * Joins final segments into utterances, ending one at `speech_final`, at `UtteranceEnd`, or at the end of
 * the stream; each channel separately.
 */
export function utterances(): Transform {
  const open = new Map<number, ResultsMessage[]>();
  const close = (channel: number): Utterance | undefined => {
    const parts = open.get(channel);
    open.delete(channel);
    const words = parts?.flatMap(wordsOf) ?? [];
    if (!parts || words.length === 0) return undefined;
    const text = parts.map(transcriptOf).filter(Boolean).join(' ');
    const speaker = words.find((w) => w.speaker !== undefined)?.speaker;
    return {
      type: 'Utterance',
      text,
      start: words[0].start,
      end: words[words.length - 1].end,
      channel,
      ...(speaker === undefined ? {} : { speaker }),
      words,
    };
  };
  return mapObjects<ServerMessage | FluxMessage, Utterance>(
    (m) => {
      const turn = turnOf(m); // Flux: a finished turn is an utterance
      if (turn)
        return { type: 'Utterance', text: turn.text, start: turn.start, end: turn.end, channel: 0, words: turn.words };
      if (isUtteranceEnd(m)) return close(m.channel[0]);
      if (!isFinal(m)) return undefined;
      const channel = m.channel_index[0];
      open.set(channel, [...(open.get(channel) ?? []), m]);
      return m.speech_final ? close(channel) : undefined;
    },
    () => [...open.keys()].map(close).filter((u): u is Utterance => u !== undefined),
  );
}

const isUtterance = (m: ServerMessage | FluxMessage | Utterance): m is Utterance =>
  m.type === 'Utterance' && 'text' in m;

/** Plain text, a line per final segment, utterance or finished Flux turn that says something. */
export function toText(): Transform {
  const order = new TimeOrder<string>();
  return mapObjects<ServerMessage | FluxMessage | Utterance, string>(
    (m) => {
      if (isUtterance(m)) return m.text ? `${m.text}\n` : undefined;
      const final = finalOf(m);
      if (!final) return undefined;
      // A line per speaker's run, labelled with its channel (multichannel) and speaker (diarize) when there are.
      const runs = final.words.some((w) => w.speaker !== undefined) ? speakerRuns(final.words) : [{ text: final.text }];
      const line = (text: string, speaker?: number) => {
        const label = labelOf(final.channel, final.channels, speaker);
        return { start: final.start, item: `${label ? `${label}: ` : ''}${text}\n` };
      };
      const lines = runs.filter((run) => run.text).map((run) => line(run.text, run.speaker));
      return order.add(final, lines);
    },
    () => order.flush(),
  );
}

/**
 * Text for a person watching a terminal: each interim result (or Flux's turn so far) rewrites one grey line in place,
 * and each final (or finished turn) that says something replaces it as a line of its own. `color: false` (the CLI's
 * answer to NO_COLOR) keeps the line rewriting but not the grey.
 */
export function toLiveText(options: { color?: boolean } = {}): Transform {
  const [grey, reset] = options.color === false ? ['', ''] : ['\x1b[90m', '\x1b[0m'];
  let shown = false;
  return mapObjects<ServerMessage | FluxMessage, string>(
    (m) => {
      const live = isResults(m)
        ? { text: transcriptOf(m), final: m.is_final }
        : isTurnInfo(m)
          ? { text: m.transcript, final: m.event === 'EndOfTurn' }
          : undefined;
      if (!live) return undefined;
      const { text, final } = live;
      const clear = shown ? '\r\x1b[2K' : '';
      shown = !final && text !== '';
      if (final) return text ? `${clear}${text}\n` : clear || undefined;
      return text ? `${clear}${grey}${text}${reset}` : undefined;
    },
    () => (shown ? ['\r\x1b[2K'] : []),
  );
}
