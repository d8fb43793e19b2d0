// The local server's voice: synthetic, but shaped like speech so that its own listen side hears it back. Each word
// is a voiced sound (a pitch and harmonics chosen by the word, so the same text always sounds the same) whose length
// follows its syllables, then a silence longer than the word gap; punctuation pauses longer. Nothing is random.
import { FRAME_SECONDS, MAX_WORD, WORD_GAP } from './frames.js';

const GAP = (WORD_GAP + 2) * FRAME_SECONDS; // between words: heard as a gap by the word detector
const LONGEST = (MAX_WORD - 3) * FRAME_SECONDS; // heard as one word
const PAUSE: Record<string, number> = { ',': 0.25, ';': 0.3, ':': 0.3, '.': 0.45, '!': 0.45, '?': 0.45 };

/** FNV-1a of the word: its pitch. */
function hash(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Seconds of sound and of silence after it, for each word of `text`, at `speed` (1 is normal). */
export function wordTimes(text: string, speed = 1): { word: string; sound: number; pause: number }[] {
  return text
    .split(/\s+/)
    .filter((token) => /[\p{L}\p{N}]/u.test(token))
    .map((token) => {
      const syllables = Math.max(1, token.toLowerCase().match(/[aeiouy]+/g)?.length ?? 1);
      const sound = Math.min(LONGEST, (0.1 + 0.07 * syllables) / speed);
      const pause = PAUSE[token.at(-1) ?? ''] ?? GAP;
      return { word: token, sound, pause: Math.max(GAP, pause / speed) };
    });
}

/** `text` spoken: samples in [-1, 1] at `sampleRate`. */
export function synthesize(text: string, sampleRate: number, speed = 1): Float32Array {
  const words = wordTimes(text, speed);
  const total = words.reduce((n, w) => n + Math.round(w.sound * sampleRate) + Math.round(w.pause * sampleRate), 0);
  const samples = new Float32Array(total);
  let at = 0;
  for (const { word, sound, pause } of words) {
    const f0 = 110 + (hash(word.toLowerCase()) % 80);
    const length = Math.round(sound * sampleRate);
    const edge = Math.round(0.015 * sampleRate);
    for (let i = 0; i < length; i++) {
      const t = i / sampleRate;
      const envelope = Math.min(1, i / edge, (length - i) / edge);
      const voiced =
        0.25 * Math.sin(2 * Math.PI * f0 * t) +
        0.12 * Math.sin(4 * Math.PI * f0 * t) +
        0.06 * Math.sin(6 * Math.PI * f0 * t);
      samples[at + i] = envelope * voiced;
    }
    at += length + Math.round(pause * sampleRate);
  }
  return samples;
}
