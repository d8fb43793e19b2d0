// Ogg pages (RFC 3533) carrying Opus (RFC 7845). The header is the pages before the first audio page (OpusHead and
// OpusTags, granule 0). A cut goes before a page that starts a packet; the audio there starts at the granule of the
// page before it, over 48 kHz: a decoder drops the pre-skip at the start of any stream, the new one as the first, so
// the two cancel out.
import { NOT_CUT, type CutEvents, type CutReader } from './scan.js';

const PAGE_HEADER = 27;
const CONTINUED = 0x01;

export function oggReader(events: CutEvents): CutReader {
  let serial: number | undefined;
  let inHeader = true;
  /** The granule after the last whole page, when that page ended on a packet's end; undefined otherwise. */
  let granule: bigint | undefined;
  return {
    step(bytes, at) {
      if (bytes.length < PAGE_HEADER) return 0;
      if (bytes.toString('latin1', 0, 4) !== 'OggS' || bytes[4] !== 0) return NOT_CUT;
      const segments = bytes[26];
      if (bytes.length < PAGE_HEADER + segments) return 0;
      let body = 0;
      for (let i = 0; i < segments; i++) body += bytes[PAGE_HEADER + i];
      const size = PAGE_HEADER + segments + body;
      const pageSerial = bytes.readUInt32LE(14);
      const pageGranule = bytes.readBigInt64LE(6);
      if (serial === undefined) {
        // The first page names the codec: only Opus's timing is placed exactly.
        if (bytes.length < size) return 0;
        if (bytes.toString('latin1', PAGE_HEADER + segments, PAGE_HEADER + segments + 8) !== 'OpusHead') return NOT_CUT;
        serial = pageSerial;
      } else if (pageSerial !== serial) {
        return NOT_CUT; // a second logical stream (chained or multiplexed): its times are its own
      }
      if (inHeader && pageGranule !== 0n) {
        inHeader = false;
        events.header(at);
      }
      if (!inHeader && granule !== undefined && !(bytes[5] & CONTINUED)) {
        events.cut({ at, time: Number(granule) / 48000 });
      }
      // -1: no packet ends on this page. A last lacing value of 255: its last packet goes on in the next page.
      const endsPacket = segments > 0 && bytes[PAGE_HEADER + segments - 1] < 255;
      granule = pageGranule >= 0n && endsPacket && !inHeader ? pageGranule : undefined;
      return size;
    },
  };
}
