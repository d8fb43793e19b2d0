// WebM/Matroska: EBML elements. The header is everything before the first Cluster (EBML header, Segment, Info,
// Tracks); a cut goes before any Cluster. Clusters of unknown size (a live recorder's, MediaRecorder's) are read
// into; known sizes are skipped whole. Only a single Opus track is cut, and its time is counted from the packets
// themselves (each one's TOC byte says how long it is), since block times are rounded to the millisecond: the audio
// at a cut starts at the samples before it, over 48 kHz (the codec delay is dropped at the start of any stream, the
// new one as the first, so the two cancel out).
import { NOT_CUT, type CutEvents, type CutReader } from './scan.js';

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const CLUSTER = 0x1f43b675;
const SIMPLE_BLOCK = 0xa3;
const BLOCK_GROUP = 0xa0;
const BLOCK = 0xa1;
const TRACKS = 0x1654ae6b;
const TRACK_ENTRY = 0xae;
const CODEC_ID = 0x86;
/** Elements gone into, not skipped: their children matter. */
const CONTAINERS = new Set([SEGMENT, CLUSTER, BLOCK_GROUP]);

/** A variable-length integer at `at`: its value (undefined when all ones: an unknown size) and its length. */
function vint(bytes: Buffer, at: number, keepMarker: boolean): { value: number | undefined; length: number } | null {
  if (at >= bytes.length) return null;
  const first = bytes[at];
  const length = first === 0 ? 9 : Math.clz32(first) - 23;
  if (length > 8) return { value: NaN, length: 1 };
  if (at + length > bytes.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + bytes[at + i];
    allOnes &&= bytes[at + i] === 0xff;
  }
  return { value: allOnes && !keepMarker ? undefined : value, length };
}

/** 48 kHz samples in an Opus packet, from its TOC byte (and frame count byte): RFC 6716, 3.1. */
function opusSamples(toc: number, count: number): number {
  const config = toc >> 3;
  const frame =
    config < 12
      ? [480, 960, 1920, 2880][config % 4]
      : config < 16
        ? [480, 960][config % 2]
        : [120, 240, 480, 960][config % 4];
  const code = toc & 3;
  return frame * (code === 0 ? 1 : code < 3 ? 2 : count & 0x3f);
}

/** Children of a whole element: [id, from, to] each. */
function* children(bytes: Buffer, from: number, to: number): Generator<[number, number, number]> {
  let at = from;
  while (at < to) {
    const id = vint(bytes, at, true);
    const size = id && vint(bytes, at + id.length, false);
    if (!id || !size || size.value === undefined || Number.isNaN(size.value)) return;
    const start = at + id.length + size.length;
    yield [id.value!, start, Math.min(start + size.value, to)];
    at = start + size.value;
  }
}

export function webmReader(events: CutEvents): CutReader {
  let codecs: string[] = [];
  let inHeader = true;
  /** 48 kHz samples in the blocks so far. */
  let samples = 0;
  return {
    step(bytes, at) {
      const id = vint(bytes, 0, true);
      const size = id && vint(bytes, id.length, false);
      if (!id || !size) return 0;
      if (Number.isNaN(id.value) || Number.isNaN(size.value)) return NOT_CUT;
      const body = id.length + size.length;
      if (at === 0 && id.value !== EBML) return NOT_CUT;
      if (id.value === CLUSTER) {
        if (inHeader) {
          inHeader = false;
          if (codecs.length !== 1 || codecs[0] !== 'A_OPUS') return NOT_CUT;
          events.header(at);
        }
        if (samples > 0) events.cut({ at, time: samples / 48000 });
      }
      if (CONTAINERS.has(id.value!)) return body;
      if (size.value === undefined) return NOT_CUT; // an unknown size only a container may have
      if (id.value === TRACKS) {
        // Read whole, for its tracks' codecs.
        if (bytes.length < body + size.value) return 0;
        codecs = [];
        for (const [entry, from, to] of children(bytes, body, body + size.value)) {
          if (entry !== TRACK_ENTRY) continue;
          for (const [child, f, t] of children(bytes, from, to))
            if (child === CODEC_ID) codecs.push(bytes.toString('latin1', f, t));
        }
      } else if (id.value === SIMPLE_BLOCK || id.value === BLOCK) {
        // Track number, a 16-bit time, flags, then the packet: its TOC byte and, for code 3, its frame count.
        const track = vint(bytes, body, false);
        const toc = track && body + track.length + 3;
        if (!toc || bytes.length < toc + 2) return 0;
        if (bytes[toc - 1] & 0x06) return NOT_CUT; // laced: several packets in one block
        samples += opusSamples(bytes[toc], bytes[toc + 1]);
      }
      return body + size.value;
    },
  };
}
