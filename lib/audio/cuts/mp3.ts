// MPEG audio layer III frames: a new stream may start at any frame. The stream's timeline is the decoder's: where a
// LAME/Info frame states the encoder's delay, a decoder drops it (and its own 529 samples) from the start of a
// stream. A cut sends that frame again with the delay set so that the first sample heard falls on the cut grid, and
// the frame count set to what is left (the decoder trims the end padding by it); without one, frame n starts at
// n * samples per frame / rate.
import { CUT_GRID, NOT_CUT, type CutEvents, type CutReader } from './scan.js';

const BITRATES = {
  1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const RATES = [44100, 48000, 32000];

interface Frame {
  size: number;
  samples: number;
  rate: number;
  /** Where the side information ends: a Xing/Info tag starts there. */
  sideEnd: number;
}

/** A layer III frame header at the start of `bytes`, or undefined. */
function frameHeader(bytes: Buffer): Frame | undefined {
  if (bytes[0] !== 0xff || (bytes[1] & 0xe0) !== 0xe0) return undefined;
  const version = (bytes[1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = (bytes[1] >> 1) & 3; // 1: layer III
  const bitrateIndex = bytes[2] >> 4;
  const rateIndex = (bytes[2] >> 2) & 3;
  if (version === 1 || layer !== 1 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const mpeg1 = version === 3;
  const rate = RATES[rateIndex] / (mpeg1 ? 1 : version === 2 ? 2 : 4);
  const bitrate = BITRATES[mpeg1 ? 1 : 2][bitrateIndex] * 1000;
  const padding = (bytes[2] >> 1) & 1;
  const mono = bytes[3] >> 6 === 3;
  const size = Math.floor(((mpeg1 ? 144 : 72) * bitrate) / rate) + padding;
  const sideEnd = 4 + (mpeg1 ? (mono ? 17 : 32) : mono ? 9 : 17);
  return { size, samples: mpeg1 ? 1152 : 576, rate, sideEnd };
}

/** The LAME extension's CRC-16 (polynomial 0x8005, reflected). */
function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** The tag frame and where its fields are. */
interface Tag {
  frame: Buffer;
  /** The LAME extension's offset in the frame. */
  lame: number;
  delay: number;
  /** The frame count's offset, when the tag has one. */
  count?: number;
}

/** The tag frame again, for a stream that starts `skipped` frames in, with `delay` to drop first. */
function retag(tag: Tag, delay: number, skipped: number): Buffer {
  const frame = Buffer.from(tag.frame);
  const { lame } = tag;
  const padding = ((frame[lame + 22] & 0x0f) << 8) | frame[lame + 23];
  frame[lame + 21] = delay >> 4;
  frame[lame + 22] = ((delay & 0x0f) << 4) | (padding >> 8);
  if (tag.count !== undefined) frame.writeUInt32BE(frame.readUInt32BE(tag.count) - skipped, tag.count);
  frame.writeUInt16BE(crc16(frame.subarray(0, lame + 34)), lame + 34);
  return frame;
}

/** The Xing/Info tag in `bytes` (a whole frame), when it has a LAME extension. */
function readTag(bytes: Buffer, frame: Frame): Tag | undefined {
  const flags = bytes.readUInt32BE(frame.sideEnd + 4);
  const count = flags & 1 ? frame.sideEnd + 8 : undefined;
  const fields = 8 + (flags & 1 ? 4 : 0) + (flags & 2 ? 4 : 0) + (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0);
  const lame = frame.sideEnd + fields;
  // FFmpeg's encoder writes its own name where LAME writes "LAME".
  if (lame + 36 > frame.size || !/^(LAME|Lavf|Lavc)$/.test(bytes.toString('latin1', lame, lame + 4))) return undefined;
  const delay = (bytes[lame + 21] << 4) | (bytes[lame + 22] >> 4);
  return { frame: Buffer.from(bytes.subarray(0, frame.size)), lame, delay, count };
}

export function mp3Reader(events: CutEvents): CutReader {
  let frames = 0;
  let tag: Tag | undefined;
  let started = false;
  return {
    step(bytes, at) {
      if (!started) {
        if (bytes.length < 10) return 0;
        if (bytes.toString('latin1', 0, 3) === 'ID3') {
          // ID3v2: a synchsafe size after a 10-byte header (and a 10-byte footer when flagged).
          const size = ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | bytes[9];
          return 10 + size + (bytes[5] & 0x10 ? 10 : 0);
        }
        started = true;
        events.header(0);
      }
      if (bytes.length < 4) return 0;
      const frame = frameHeader(bytes);
      if (!frame) return NOT_CUT; // junk between frames: the stream is not cut rather than cut wrongly
      if (frames === 0 && !tag) {
        if (bytes.length < frame.size) return 0;
        const name = bytes.toString('latin1', frame.sideEnd, frame.sideEnd + 4);
        if ((name === 'Xing' || name === 'Info') && frame.size >= frame.sideEnd + 8) {
          tag = readTag(bytes, frame) ?? { frame: Buffer.alloc(0), lame: 0, delay: 0 };
          return frame.size; // the tag's frame holds no audio
        }
      }
      if (frames > 0) {
        const start = frames * frame.samples;
        const grid = frame.rate * CUT_GRID;
        const found = tag && tag.frame.length > 0 ? tag : undefined;
        if (!found) {
          events.cut({ at, time: start / frame.rate });
        } else {
          // The delay that puts the first sample heard on the grid (where the grid is whole samples).
          const delay = Number.isInteger(grid) ? (((found.delay - start) % grid) + grid) % grid : found.delay;
          const skipped = frames;
          const time = (start + delay - found.delay) / frame.rate;
          events.cut({ at, time, header: () => retag(found, delay, skipped) });
        }
      }
      frames++;
      return frame.size;
    },
  };
}
