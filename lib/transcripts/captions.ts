// SRT and WebVTT captions from live Results or Flux turns. One cue builder serves both formats; only the text differs.
import type { Transform } from 'node:stream';
import type { ServerMessage, Word } from '../protocol/messages.js';
import { mapObjects } from './results.js';
import { finalOf } from './turns.js';
import { labelOf, TimeOrder } from './labels.js';
import type { FluxMessage } from '../protocol/flux.js';

export interface CaptionOptions {
  /** Longest cue, in seconds. Default 6. */
  maxCueSeconds?: number;
  /** Characters per line. Default 42. */
  maxLineChars?: number;
  /** Lines per cue. Default 2. */
  maxLines?: number;
  /** Silence between words that starts a new cue, in seconds. Default 1. */
  maxGapSeconds?: number;
  /** Prefix each cue with its speaker (with diarize); false: never. Default: when words carry a speaker. */
  speakerLabels?: boolean;
}

export interface Cue {
  start: number;
  end: number;
  lines: string[];
  speaker?: number;
  /** With several channels (multichannel): the cue's, and how many there are. */
  channel?: number;
  channels?: number;
}

/** Groups final words into cues that respect the length, width, gap and speaker limits. */
export function cueBuilder(options: CaptionOptions = {}) {
  const maxSeconds = options.maxCueSeconds ?? 6;
  const width = options.maxLineChars ?? 42;
  const maxLines = options.maxLines ?? 2;
  const maxGap = options.maxGapSeconds ?? 1;
  let words: Word[] = [];

  const wrap = (list: Word[]): string[] => {
    const lines: string[] = [];
    for (const w of list) {
      const text = w.punctuated_word ?? w.word;
      const last = lines[lines.length - 1];
      if (last !== undefined && last.length + 1 + text.length <= width) lines[lines.length - 1] = `${last} ${text}`;
      else lines.push(text);
    }
    return lines;
  };
  const cut = (): Cue[] => {
    if (words.length === 0) return [];
    const cue: Cue = { start: words[0].start, end: words[words.length - 1].end, lines: wrap(words) };
    if (words[0].speaker !== undefined) cue.speaker = words[0].speaker;
    words = [];
    return [cue];
  };
  return {
    /** Adds a final's words; returns the cues that are complete. */
    add(list: Word[], endOfUtterance: boolean): Cue[] {
      const cues: Cue[] = [];
      for (const w of list) {
        const first = words[0];
        const previous = words[words.length - 1];
        if (
          first &&
          (w.end - first.start > maxSeconds ||
            w.start - previous.end > maxGap ||
            w.speaker !== first.speaker ||
            wrap([...words, w]).length > maxLines)
        ) {
          cues.push(...cut());
        }
        words.push(w);
      }
      if (endOfUtterance) cues.push(...cut());
      return cues;
    },
    flush: cut,
  };
}

function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, size = 2) => String(n).padStart(size, '0');
  const clock = [Math.floor(ms / 3_600_000), Math.floor(ms / 60_000) % 60, Math.floor(ms / 1000) % 60];
  return `${clock.map((n) => pad(n)).join(':')}${separator}${pad(ms % 1000, 3)}`;
}

function captions(
  options: CaptionOptions,
  header: string,
  format: (cue: Cue, index: number, label: string) => string,
): Transform {
  // One builder per channel, so that a cue never mixes channels; cues come out in time order across them.
  const builders = new Map<number, ReturnType<typeof cueBuilder>>();
  const order = new TimeOrder<Cue>();
  /** A channel's builder, its cues tagged with the channel when there are several. */
  const builderOf = (channel: number, channels: number) => {
    let builder = builders.get(channel);
    if (!builder) builders.set(channel, (builder = cueBuilder(options)));
    const tag = (cue: Cue) => ({ start: cue.start, item: channels > 1 ? { ...cue, channel, channels } : cue });
    return {
      add: (words: Word[], end: boolean) => builder.add(words, end).map(tag),
      flush: () => builder.flush().map(tag),
    };
  };
  let channelCount = 1;
  let index = 0;
  let started = false;
  const render = (cues: Cue[]): string[] => {
    const out = cues.map((cue) => {
      const speaker = options.speakerLabels === false ? undefined : cue.speaker;
      return format(cue, ++index, labelOf(cue.channel ?? 0, cue.channels ?? 1, speaker));
    });
    if (!started) out.unshift(header);
    started = true;
    return out.filter(Boolean);
  };
  return mapObjects<ServerMessage | FluxMessage, string>(
    (m) => {
      const final = finalOf(m); // on Flux, a finished turn's words, which end their cue
      if (!final) return undefined;
      channelCount = final.channels;
      return render(order.add(final, builderOf(final.channel, final.channels).add(final.words, final.endOfSpeech)));
    },
    () => {
      const rest = [...builders.keys()].flatMap((channel) => builderOf(channel, channelCount).flush());
      return render(order.flush(rest));
    },
  );
}

/** SubRip: numbered cues, `HH:MM:SS,mmm`, a blank line after each; channels and speakers as `Speaker N: `. */
export function toSrt(options: CaptionOptions = {}): Transform {
  return captions(options, '', (cue, index, label) => {
    const lines = label ? [`${label}: ${cue.lines[0]}`, ...cue.lines.slice(1)] : cue.lines;
    return `${index}\n${timestamp(cue.start, ',')} --> ${timestamp(cue.end, ',')}\n${lines.join('\n')}\n\n`;
  });
}

/** WebVTT: the `WEBVTT` header, `HH:MM:SS.mmm` cues; channels and speakers as voice spans `<v Speaker N>`. */
export function toVtt(options: CaptionOptions = {}): Transform {
  return captions(options, 'WEBVTT\n\n', (cue, _index, label) => {
    const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const lines = cue.lines.map(escape);
    if (label) lines[0] = `<v ${label}>${lines[0]}`;
    return `${timestamp(cue.start, '.')} --> ${timestamp(cue.end, '.')}\n${lines.join('\n')}\n\n`;
  });
}
