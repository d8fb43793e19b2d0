// What live users ask of a provider, measured: a file streamed at real-time pace, and for every final word the time
// between the moment its audio was sent and the moment its final arrived; the same for the end of speech to
// `speech_final` (on Flux: to EndOfTurn, a turn's words being final there), and the time to the first words, interim
// or final (on Flux: the first TurnInfo with words).
import { createReadStream, openSync, readSync, closeSync, statSync } from 'node:fs';
import { durationOf } from '../audio/duration.js';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ListenStreamOptions } from '../listen/listen.js';
import { createSession, protocolOf } from '../listen/session.js';
import { LISTEN_FLUX } from '../listen/protocol.js';
import { createDecoder } from '../audio/decoder.js';
import { createFramer, pcmByteRate } from '../audio/framer.js';
import { createPacer } from '../audio/pacer.js';
import { isResults } from '../protocol/guards.js';
import { DeepgramError } from '../listen/errors.js';
import type { ServerMessage, Word } from '../protocol/messages.js';
import type { ListenQuery } from '../protocol/options.js';
import { isTurnInfo, type FluxMessage, type FluxQuery } from '../protocol/flux.js';
import { finalOf } from '../transcripts/turns.js';

export interface Delays {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

export interface LatencyReport {
  audioSeconds: number;
  /** From the first audio sent to the first message with words, interim or final (Flux: a TurnInfo), ms. */
  firstWordsMs?: number;
  /** For each final word: its final's arrival less the moment its last audio was sent, ms. */
  wordFinalMs: Delays;
  /** For each `speech_final` (Flux: EndOfTurn): its arrival less the moment the last word was sent, ms. */
  speechFinalMs: Delays;
  /** Measured on Flux (`/v2/listen`). */
  flux: boolean;
  /** Each final word as [audio seconds, delay ms, the word], for the chart. */
  points: [number, number, string][];
}

const RATE = 16000;

/** The value at percentile `p` (0 to 100) of `values`; NaN when there are none. The benchmarks use it too. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function delays(values: number[]): Delays {
  const at = (p: number) => Math.round(percentile(values, p));
  return { count: values.length, p50: at(50), p95: at(95), max: at(100) };
}

/** What a message tells the report: words seen early, words made final, and whether it ends a stretch of speech. */
function reading(m: ServerMessage | FluxMessage): { early: boolean; finals: Word[]; endOfSpeech: boolean } {
  const final = finalOf(m);
  if (final) return { early: final.words.length > 0, finals: final.words, endOfSpeech: final.endOfSpeech };
  const early = isResults(m) ? (m.channel.alternatives[0]?.words.length ?? 0) > 0 : isTurnInfo(m) && m.words.length > 0;
  return { early, finals: [], endOfSpeech: false };
}

/** Streams `file` (anything FFmpeg reads) at real-time pace to a listen endpoint (or Flux's) and measures delays. */
export async function measureLatency(
  file: string,
  options: Omit<ListenStreamOptions, 'query'> & {
    query?: Omit<ListenQuery, 'encoding' | 'sample_rate' | 'channels'> | Omit<FluxQuery, 'encoding' | 'sample_rate'>;
    /** The longest audio measured (it plays in real time): a longer file is refused. Default 3600 s. */
    maxSeconds?: number;
  } = {},
): Promise<LatencyReport> {
  const { maxSeconds = 3600, ...listenOptions } = options;
  const tooLong = (seconds: number) =>
    new DeepgramError(
      'DG_INPUT',
      `${file} holds ${seconds > 1e6 ? 'over a million' : seconds.toFixed(0)} s of audio, ` +
        `more than the ${maxSeconds} s ` +
        'measured at most (it plays in real time): cut it, or raise maxSeconds (--max-seconds)',
    );
  // Where the header says how long the audio is (WAV, FLAC), a file that would play for hours is refused now.
  const head = Buffer.alloc(4096);
  const fd = openSync(file, 'r');
  const claimed = durationOf(head.subarray(0, readSync(fd, head, 0, head.length, 0)), statSync(file).size);
  closeSync(fd);
  if (claimed !== undefined && claimed > maxSeconds) throw tooLong(claimed);
  const given = options.query ?? {};
  const audio = { encoding: 'linear16', sample_rate: RATE } as const;
  const flux = protocolOf(given) === LISTEN_FLUX;
  // Flux's turn so far comes anyway; /v1 sends interim results only when asked.
  const listen = createSession({
    ...listenOptions,
    query: { ...given, ...audio, ...(flux ? {} : { interim_results: true }) },
  });
  const bytesPerSecond = pcmByteRate(RATE, 1);
  let started = 0;
  let audioSeconds = 0;
  // The pacer releases audio second s at `started + s`: the moment it went to the socket.
  const clock = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      started ||= performance.now();
      audioSeconds += chunk.length / bytesPerSecond;
      done(audioSeconds > maxSeconds ? tooLong(audioSeconds) : null, chunk);
    },
  });
  const sentAt = (seconds: number) => started + seconds * 1000;
  let firstWordsMs: number | undefined;
  const words: number[] = [];
  const speechFinals: number[] = [];
  const points: [number, number, string][] = [];
  const sink = new Writable({
    objectMode: true,
    write(message: ServerMessage | FluxMessage, _encoding, done) {
      const now = performance.now();
      const { early, finals, endOfSpeech } = reading(message);
      if (early) firstWordsMs ??= Math.round(now - started);
      for (const word of finals) {
        words.push(now - sentAt(word.end));
        points.push([word.end, Math.round(now - sentAt(word.end)), word.punctuated_word ?? word.word]);
      }
      const last = finals.at(-1);
      if (endOfSpeech && last) speechFinals.push(now - sentAt(last.end));
      done();
    },
  });
  await pipeline(
    createReadStream(file),
    createDecoder({ sampleRate: RATE }),
    createFramer({ frameMs: 20, bytesPerSecond }),
    createPacer({ bytesPerSecond }),
    clock,
    listen,
    sink,
  );
  // A report of no words would be an empty success: NaN figures that look like a measurement.
  if (words.length === 0) {
    throw new DeepgramError(
      'DG_NO_AUDIO',
      `no final word arrived in ${audioSeconds.toFixed(1)} s of audio: nothing to measure`,
    );
  }
  return {
    audioSeconds: Math.round(audioSeconds * 1000) / 1000,
    firstWordsMs,
    wordFinalMs: delays(words),
    speechFinalMs: delays(speechFinals),
    flux,
    points,
  };
}

/** The report as text, a line a figure, in the protocol's own terms. */
export function latencyText(report: LatencyReport): string {
  const line = (name: string, d: Delays) => `${name}: p50 ${d.p50} ms, p95 ${d.p95} ms, max ${d.max} ms (${d.count})`;
  const final = report.flux ? 'EndOfTurn' : 'final';
  return [
    `audio: ${report.audioSeconds} s, streamed at real-time pace`,
    `first words: ${report.firstWordsMs === undefined ? 'none' : `${report.firstWordsMs} ms`} after the audio began`,
    line(`word to its ${final}`, report.wordFinalMs),
    line(`end of speech to ${report.flux ? 'EndOfTurn' : 'speech_final'}`, report.speechFinalMs),
  ].join('\n');
}

/** A round step for about `count` ticks up to `max`: 1, 2 or 5 times a power of ten. */
function tickStep(max: number, count: number): number {
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? rough;
}

/**
 * Delay over the file, as an SVG chart a reader can read: a title, both axes with ticks and units, gridlines, the
 * p50 and p95 as lines, and a point for every final word whose tooltip names it.
 */
export function latencyChart(report: LatencyReport): string {
  const [width, height, left, right, top, bottom] = [760, 300, 60, 20, 40, 46];
  const maxX = Math.max(1, report.audioSeconds);
  const maxY = Math.max(1, ...report.points.map(([, d]) => d)) * 1.1;
  const x = (s: number) => left + (s / maxX) * (width - left - right);
  const y = (ms: number) => height - bottom - (ms / maxY) * (height - top - bottom);
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const ticks = (max: number, step: number) => Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => i * step);
  const round = (value: number) => Number(value.toPrecision(6));
  const xTicks = ticks(maxX, tickStep(maxX, 8)).map(
    (s) =>
      `<line x1="${x(s)}" y1="${top}" x2="${x(s)}" y2="${height - bottom}" stroke="#eee"/>` +
      `<text x="${x(s)}" y="${height - bottom + 16}" text-anchor="middle">${round(s)}</text>`,
  );
  const yTicks = ticks(maxY, tickStep(maxY, 5)).map(
    (ms) =>
      `<line x1="${left}" y1="${y(ms)}" x2="${width - right}" y2="${y(ms)}" stroke="#eee"/>` +
      `<text x="${left - 6}" y="${y(ms) + 4}" text-anchor="end">${round(ms)}</text>`,
  );
  const { p50, p95 } = report.wordFinalMs;
  const level = (ms: number, name: string, color: string) =>
    `<line x1="${left}" y1="${y(ms)}" x2="${width - right}" y2="${y(ms)}" stroke="${color}" stroke-dasharray="6 4"/>` +
    `<text x="${width - right - 4}" y="${y(ms) - 4}" text-anchor="end" fill="${color}">${name} ${ms} ms</text>`;
  const dots = report.points.map(
    ([s, d, word]) =>
      `<circle cx="${x(s).toFixed(1)}" cy="${y(d).toFixed(1)}" r="3"><title>${escape(word)} at ` +
      `${s.toFixed(2)} s: ${d} ms</title></circle>`,
  );
  const final = report.flux ? 'EndOfTurn' : 'final';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      'font-family="sans-serif" font-size="11">',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">` +
      `Word to its ${final}, over ${report.audioSeconds} s of audio streamed in real time</text>`,
    ...xTicks,
    ...yTicks,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="black"/>`,
    `<text x="${(left + width - right) / 2}" y="${height - 10}" text-anchor="middle">audio time (s)</text>`,
    `<text transform="translate(16 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">delay (ms)</text>`,
    level(p50, 'p50', 'seagreen'),
    level(p95, 'p95', 'darkorange'),
    `<g fill="steelblue">${dots.join('')}</g>`,
    '</svg>',
  ].join('\n');
}
