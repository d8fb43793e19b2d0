// How long an input is, from its first bytes and its size, where the format says so without decoding: WAV (its
// byte rate), FLAC (STREAMINFO's sample count) and headerless PCM. Progress uses it; nothing depends on it.
import { parseWavHeader } from './wav.js';

/** Seconds of audio, or undefined when the bytes seen do not tell. */
export function durationOf(head: Buffer, size: number | undefined, rawBytesPerSecond?: number): number | undefined {
  if (rawBytesPerSecond) return size === undefined ? undefined : size / rawBytesPerSecond;
  const wav = parseWavHeader(head);
  if (wav) return size === undefined || wav.byteRate === 0 ? undefined : (size - wav.dataOffset) / wav.byteRate;
  // fLaC, then the STREAMINFO block: 20 bits of sample rate at byte 18, and 36 bits of sample count from byte 21.
  if (head.length >= 26 && head.toString('latin1', 0, 4) === 'fLaC') {
    const rate = (head.readUInt16BE(18) << 4) | (head[20] >> 4);
    const samples = (head[21] & 0x0f) * 2 ** 32 + head.readUInt32BE(22);
    return rate > 0 && samples > 0 ? samples / rate : undefined;
  }
  return undefined;
}
