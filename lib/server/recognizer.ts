// The local server's stand-in for a speech model. Words sit where the audio has speech (energy-based voice
// activity on 20 ms frames); their text comes from a script or a fixed word list. Everything is derived from
// sample counts, never from wall time, so the same audio always gives the same messages.
import { roundMicro, type ResultsMessage, type ServerMessage, type Word } from '../protocol/messages.js';
import { FrameMeter, framesOf, FRAME_SECONDS, spread, WordDetector, WORD_GAP } from './frames.js';
import type { Pcm } from './pcm.js';

/** Without an endpoint, a final goes out once a segment is 5 s long. */
const MAX_SEGMENT = 250;
/** Interim results every second of audio. */
const INTERIM_EVERY = 50;

export const DEFAULT_WORDS = (
  'the quick brown fox jumps over the lazy dog while seven bright stars watch quietly above a calm river ' +
  'and every little boat drifts home before the evening bell'
).split(' ');

export interface RecognizerSettings {
  channels: number;
  multichannel: boolean;
  interimResults: boolean;
  /** Milliseconds of silence before speech_final, or false. */
  endpointing: number | false;
  utteranceEndMs?: number;
  vadEvents: boolean;
  punctuate: boolean;
  diarize: boolean;
  /** The words to say, in order; they repeat when the audio outlasts them. Restarts with each connection. */
  script?: string[];
  /** Builds the `metadata` block of every Results. */
  resultsMetadata: ResultsMessage['metadata'];
}

/** What a session's query asks of the recognizer; the rest comes from the audio and the server. */
export function recognizerSettings(
  params: URLSearchParams,
  given: Pick<RecognizerSettings, 'channels' | 'script' | 'resultsMetadata'>,
): RecognizerSettings {
  const flag = (name: string) => params.get(name) === 'true';
  const endpointing = params.get('endpointing');
  const utteranceEnd = params.get('utterance_end_ms');
  const { channels, script, resultsMetadata } = given;
  // Named, not spread: a spread-then-added object has a hidden class of its own; these are read on every frame.
  return {
    channels,
    script,
    resultsMetadata,
    multichannel: flag('multichannel'),
    interimResults: flag('interim_results'),
    endpointing: endpointing === 'false' ? false : Number(endpointing ?? 10),
    utteranceEndMs: utteranceEnd === null ? undefined : Number(utteranceEnd),
    vadEvents: flag('vad_events'),
    punctuate: flag('punctuate') || flag('smart_format'),
    diarize: flag('diarize'),
  };
}

const seconds = (frames: number) => roundMicro(frames * FRAME_SECONDS);

function bareWord(token: string): string {
  return token.toLowerCase().replace(/^[^\p{L}\p{N}']+|[^\p{L}\p{N}']+$/gu, '') || token.toLowerCase();
}

/** One channel's voice activity, words and segments; every time here is a frame count. */
class ChannelTrack {
  readonly #detector = new WordDetector((start, end, hash) => this.#closeWord(start, end, hash));
  #inUtterance = false;
  #utterances = 0;
  #segmentStart = 0;
  #lastResult = 0;
  #words: Word[] = [];
  #lastWordEnd: number | undefined;
  #utteranceEndSent = true;
  #scriptAt = 0;
  #startOfSentence = true;
  readonly #endpoint: number;
  readonly #utteranceEnd: number | undefined;

  constructor(
    private readonly index: number,
    private readonly total: number,
    private readonly settings: RecognizerSettings,
    private readonly emit: (message: ServerMessage) => void,
  ) {
    this.#endpoint = settings.endpointing === false ? Infinity : Math.max(framesOf(settings.endpointing), WORD_GAP);
    this.#utteranceEnd =
      settings.utteranceEndMs !== undefined && settings.interimResults ? framesOf(settings.utteranceEndMs) : undefined;
  }

  frame(rms: number): void {
    const heard = this.#detector.frame(rms);
    const end = this.#detector.frames;
    if (heard === 'start' && !this.#inUtterance) {
      this.#inUtterance = true;
      if (this.settings.vadEvents) {
        this.emit({ type: 'SpeechStarted', channel: [this.index, this.total], timestamp: seconds(end - 1) });
      }
    }
    const silent = heard === 'silence' && !this.#detector.inWord;
    if (silent && this.#inUtterance && this.#detector.silence >= this.#endpoint) {
      this.#endUtterance();
      this.#final(end, { speechFinal: true });
    }
    if (
      this.#utteranceEnd !== undefined &&
      !this.#utteranceEndSent &&
      this.#lastWordEnd !== undefined &&
      end - this.#lastWordEnd >= this.#utteranceEnd
    ) {
      this.#utteranceEndSent = true;
      this.emit({ type: 'UtteranceEnd', channel: [this.index, this.total], last_word_end: seconds(this.#lastWordEnd) });
    }
    if (!this.#detector.inWord && end - this.#segmentStart >= MAX_SEGMENT) {
      this.#final(end, {});
    } else if (this.settings.interimResults && end - this.#lastResult >= INTERIM_EVERY) {
      this.#send(end, false, false, false);
    }
  }

  /** Finalize: everything heard so far goes out as a final now; at the end of the stream, every script word too. */
  finalize(fromFinalize: boolean): void {
    const frames = this.#detector.frames;
    this.#detector.close(frames);
    if (!fromFinalize) this.#placeRestOfScript();
    if (frames > this.#segmentStart || this.#words.length > 0) {
      const hadWords = this.#words.length > 0;
      if (!fromFinalize && hadWords) this.#endUtterance();
      this.#final(frames, { fromFinalize, speechFinal: !fromFinalize && hadWords });
    }
  }

  /**
   * A script longer than the speech found: its words not yet said share the last word still open (or, when the
   * last final has gone, the audio after it), so that a transcript never stops short of its script.
   */
  #placeRestOfScript(): void {
    const script = this.settings.script;
    if (!script || this.#scriptAt === 0 || this.#scriptAt >= script.length) return;
    const last = this.#words.pop();
    if (last) this.#scriptAt--; // said again, sharing its time with the rest
    const from = last ? last.start : seconds(this.#segmentStart);
    const to = last ? last.end : seconds(this.#detector.frames);
    for (const [start, end] of spread(script.length - this.#scriptAt, from, to))
      this.#addWord(this.#scriptAt++, start, end);
  }

  #closeWord(start: number, end: number, hash: number): void {
    this.#addWord(this.settings.script ? this.#scriptAt++ : hash, seconds(start), seconds(end));
    this.#lastWordEnd = end;
    this.#utteranceEndSent = false;
  }

  /** A word from the script (`key` its place) or the word list (`key` its audio's hash), between two times. */
  #addWord(key: number, start: number, end: number): void {
    const s = this.settings;
    const token = s.script ? s.script[key % s.script.length] : DEFAULT_WORDS[key % DEFAULT_WORDS.length];
    const word: Word = { word: bareWord(token), start, end, confidence: roundMicro(0.9 + (key % 10) / 100) };
    if (s.punctuate) {
      const scripted = /[A-Z.,!?;:]/.test(token);
      word.punctuated_word = scripted || !this.#startOfSentence ? token : token[0].toUpperCase() + token.slice(1);
      this.#startOfSentence = /[.!?]$/.test(token);
    }
    if (s.diarize) word.speaker = this.#utterances % 2;
    this.#words.push(word);
  }

  #endUtterance(): void {
    this.#inUtterance = false;
    this.#utterances++;
    const last = this.#words[this.#words.length - 1];
    if (!this.settings.script && last?.punctuated_word && !/[.!?]$/.test(last.punctuated_word)) {
      last.punctuated_word += '.';
      this.#startOfSentence = true;
    }
  }

  #final(end: number, how: { speechFinal?: boolean; fromFinalize?: boolean }): void {
    this.#send(end, true, how.speechFinal ?? false, how.fromFinalize ?? false);
    this.#words = [];
    this.#segmentStart = end;
  }

  #send(end: number, isFinal: boolean, speechFinal: boolean, fromFinalize: boolean): void {
    this.#lastResult = end;
    const words = this.#words.map((w) => ({ ...w }));
    const s = this.settings;
    const transcript = words.map((w) => (s.punctuate ? w.punctuated_word : w.word)).join(' ');
    const confidence =
      words.length === 0 ? 0 : roundMicro(words.reduce((sum, w) => sum + w.confidence, 0) / words.length);
    const results: ResultsMessage = {
      type: 'Results',
      channel_index: [this.index, this.total],
      duration: seconds(end - this.#segmentStart),
      start: seconds(this.#segmentStart),
      is_final: isFinal,
      speech_final: speechFinal,
      channel: { alternatives: [{ transcript, confidence, words }] },
      metadata: s.resultsMetadata,
      from_finalize: fromFinalize,
    };
    this.emit(results);
  }
}

/** Turns decoded audio into the messages Deepgram would send for it. */
export class Recognizer {
  readonly #tracks: ChannelTrack[];
  readonly #meter: FrameMeter;

  constructor(settings: RecognizerSettings, emit: (message: ServerMessage) => void) {
    const tracks = settings.multichannel ? settings.channels : 1;
    this.#tracks = Array.from({ length: tracks }, (_, i) => new ChannelTrack(i, tracks, settings, emit));
    this.#meter = new FrameMeter(tracks, (rms) => rms.forEach((value, t) => this.#tracks[t].frame(value)));
  }

  /** Seconds of audio per channel taken so far. */
  get duration(): number {
    return this.#meter.duration;
  }

  push(pcm: Pcm): void {
    this.#meter.push(pcm);
  }

  finalize(channel?: number): void {
    this.#tracks.forEach((track, i) => {
      if (channel === undefined || channel === i) track.finalize(true);
    });
  }

  /** End of stream: the last finals. */
  flush(): void {
    for (const track of this.#tracks) track.finalize(false);
  }
}
