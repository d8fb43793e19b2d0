// Native FLAC: `fLaC`, metadata blocks (STREAMINFO first), then frames. The header is everything before the first
// frame; a cut goes before any frame, whose header says the sample it starts at (or its frame number, times the
// fixed block size). A frame header is taken as one only when its CRC-8 holds and it starts where the last frame's
// samples end, so a sync pattern inside compressed audio is never mistaken for a frame.
import { NOT_CUT, type CutEvents, type CutReader } from './scan.js';

const BLOCK_SIZES = [0, 192, 576, 1152, 2304, 4608, 0, 0, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];
/** The longest frame header: 4 fixed bytes, 7 of coded number, 2 of block size, 2 of rate, 1 of CRC. */
const LONGEST_HEADER = 16;

const CRC8 = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  CRC8[i] = c;
}

/** A frame header at `at`: its first sample and block size, or undefined when the bytes there are not one. */
function frameAt(bytes: Buffer, at: number, fixedBlock: number): { sample: number; block: number } | undefined {
  if (bytes[at] !== 0xff || (bytes[at + 1] & 0xfe) !== 0xf8 || at + LONGEST_HEADER > bytes.length) return undefined;
  const variable = bytes[at + 1] & 1;
  const blockCode = bytes[at + 2] >> 4;
  const rateCode = bytes[at + 2] & 0x0f;
  if (blockCode === 0 || rateCode === 15 || (bytes[at + 3] & 1) !== 0 || bytes[at + 3] >> 4 > 10) return undefined;
  // The coded number: UTF-8's scheme (a lead byte of n ones then n - 1 continuation bytes), up to 36 bits.
  let p = at + 4;
  const lead = bytes[p];
  const ones = Math.clz32(~(lead << 24));
  if (ones === 1 || ones > 7) return undefined;
  const extra = ones === 0 ? 0 : ones - 1;
  let number = extra === 0 ? lead : lead & (0x7f >> ones);
  for (let i = 1; i <= extra; i++) {
    if ((bytes[p + i] & 0xc0) !== 0x80) return undefined;
    number = number * 64 + (bytes[p + i] & 0x3f);
  }
  p += 1 + extra;
  let block = BLOCK_SIZES[blockCode];
  if (blockCode === 6) block = bytes[p++] + 1;
  else if (blockCode === 7) ((block = bytes.readUInt16BE(p) + 1), (p += 2));
  if (rateCode === 12) p += 1;
  else if (rateCode === 13 || rateCode === 14) p += 2;
  let crc = 0;
  for (let i = at; i < p; i++) crc = CRC8[crc ^ bytes[i]];
  if (crc !== bytes[p]) return undefined;
  return { sample: variable ? number : number * fixedBlock, block };
}

export function flacReader(events: CutEvents): CutReader {
  let rate = 0;
  let fixedBlock = 0;
  let inHeader = true;
  /** Where the next frame's samples start. */
  let next = 0;
  /** The frame at the start of the held bytes, once reported, and how far the search for the next has looked. */
  let current: { searched: number } | undefined;
  return {
    step(bytes, at) {
      if (bytes.length < 4) return 0;
      if (at === 0) return bytes.toString('latin1', 0, 4) === 'fLaC' ? 4 : NOT_CUT;
      if (inHeader && bytes[0] !== 0xff) {
        const size = bytes.readUIntBE(1, 3);
        if ((bytes[0] & 0x7f) === 0) {
          // STREAMINFO: min block (16 bits), max block (16), min/max frame (24 each), then the rate (20 bits).
          if (bytes.length < 4 + 13) return 0;
          const min = bytes.readUInt16BE(4);
          fixedBlock = min === bytes.readUInt16BE(6) ? min : 0;
          rate = (bytes.readUIntBE(14, 3) >> 4) & 0xfffff;
        }
        return 4 + size;
      }
      if (inHeader) {
        if (rate === 0) return NOT_CUT;
        inHeader = false;
        events.header(at);
      }
      if (!current) {
        if (bytes.length < LONGEST_HEADER) return 0;
        const frame = frameAt(bytes, 0, fixedBlock);
        if (!frame || frame.sample !== next) return NOT_CUT;
        if (next > 0) events.cut({ at, time: frame.sample / rate });
        next = frame.sample + frame.block;
        current = { searched: 2 };
      }
      // The next frame's header, past this one's (a frame is at least its header and a CRC-16).
      for (let i = current.searched; ; i++) {
        i = bytes.indexOf(0xff, i);
        if (i < 0 || i + LONGEST_HEADER > bytes.length) {
          current.searched = Math.max(2, bytes.length - LONGEST_HEADER);
          return 0;
        }
        const after = frameAt(bytes, i, fixedBlock);
        if (after && after.sample === next) {
          current = undefined;
          return i;
        }
      }
    },
  };
}
