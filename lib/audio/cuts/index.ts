// Cut points for a replay, by container: each reader reads the stream once, as it is sent.
import { detectContainer } from '../probe.js';
import { CutScanner, type CutEvents } from './scan.js';
import { oggReader } from './ogg.js';
import { webmReader } from './webm.js';
import { mp3Reader } from './mp3.js';
import { flacReader } from './flac.js';

export { CutScanner, onGrid, type Cut, type CutEvents } from './scan.js';

const READERS = { ogg: oggReader, webm: webmReader, mp3: mp3Reader, flac: flacReader };
/** Opus (the only codec cut in Ogg and WebM) needs 80 ms of pre-roll; MP3 and FLAC frames decode on their own. */
const PRE_ROLL = { ogg: 0.08, webm: 0.08, mp3: 0, flac: 0 };

/** A scanner for the container that `head` (a stream's first bytes, 4 at least) starts, or undefined. */
export function cutScanner(head: Buffer, events: CutEvents): CutScanner | undefined {
  const container = detectContainer(head);
  return container && container !== 'wav' ? new CutScanner(READERS[container](events), PRE_ROLL[container]) : undefined;
}
