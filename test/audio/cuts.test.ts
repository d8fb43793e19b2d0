import t from 'tap';
import { readFileSync } from 'node:fs';
import { cutScanner, onGrid, type Cut } from '../../lib/audio/cuts/index.js';
import { chunk, decodeToSamples, fixture, longFixture } from '../helpers.js';

/** The cut points and header a scanner finds in `bytes` fed in `size`-byte pieces. */
function scan(bytes: Buffer, size: number) {
  let header: number | undefined;
  const cuts: Cut[] = [];
  const scanner = cutScanner(bytes.subarray(0, 12), { header: (end) => (header = end), cut: (cut) => cuts.push(cut) });
  for (const piece of chunk(bytes, size)) scanner?.push(piece);
  return { scanner, header, cuts };
}

/**
 * Where `part` best lines up in `full` near sample `expected`: its shift in samples, and the mean difference. Looked
 * at from 1 s after the cut: a decoder started mid-stream (Opus's) takes a moment to match one that ran through.
 */
function alignment(full: Int16Array, part: Int16Array, expected: number) {
  let best = { shift: 0, error: Infinity };
  for (let shift = -400; shift <= 400; shift++) {
    let error = 0;
    for (let k = 16000; k < 24000; k += 2) error += Math.abs(full[expected + shift + k] - part[k]);
    if (error < best.error) best = { shift, error: error / 4000 };
  }
  return best;
}

for (const format of ['ogg', 'webm', 'mp3', 'flac']) {
  t.test(`${format}: a stream cut at its cut points decodes to the same samples at the stated time`, async (t) => {
    const bytes = readFileSync(longFixture(format));
    const full = decodeToSamples(bytes);
    const { scanner, header, cuts } = scan(bytes, 997);
    t.equal(scanner?.failed, false, 'read to the end');
    t.ok(header !== undefined, `a header (${header} bytes)`);
    const spacing = (cuts[cuts.length - 1].time - cuts[0].time) / (cuts.length - 1);
    t.ok(spacing <= 5, `a cut point every ${spacing.toFixed(3)} s at most 5 s apart`);
    t.same(
      cuts.map((c) => c.at),
      [...cuts.map((c) => c.at)].sort((a, b) => a - b),
      'in order',
    );
    for (const at of [0.3, 0.5, 0.8]) {
      const cut = cuts.filter((c) => c.time <= at * 92 && onGrid(c.time)).pop()!;
      const head = cut.header?.() ?? bytes.subarray(0, header);
      const part = decodeToSamples(Buffer.concat([head, bytes.subarray(cut.at)]));
      const expected = Math.round(cut.time * 16000);
      const { shift, error } = alignment(full, part, expected);
      t.equal(shift, 0, `cut at ${cut.time} s: its first sample is the stream's sample at that time`);
      t.ok(error < 8, `and the samples agree (mean difference ${error.toFixed(2)})`);
      t.equal(part.length, full.length - expected, 'and it ends where the stream does');
    }
    const onTheGrid = cuts.filter((c) => onGrid(c.time)).length / cuts.length;
    t.ok(onTheGrid >= (format === 'mp3' ? 1 : 0.2), `${(onTheGrid * 100).toFixed(0)}% on the 20 ms grid`);
    const again = scan(bytes, 1 << 16);
    t.same(again.cuts, cuts, 'the same cuts whatever the pieces');
  });
}

t.test('what cannot be cut exactly is not cut', async (t) => {
  const vorbis = scan(readFileSync(longFixture('ogg', ['-c:a', 'libvorbis'])), 4096);
  t.equal(vorbis.scanner?.failed, true, 'Ogg Vorbis');
  t.equal(vorbis.cuts.length, 0);
  const webmVorbis = scan(readFileSync(longFixture('webm', ['-c:a', 'libvorbis', '-f', 'webm'])), 4096);
  t.equal(webmVorbis.scanner?.failed, true, 'WebM Vorbis');
  t.equal(webmVorbis.cuts.length, 0);
  t.equal(scan(readFileSync(fixture('speech.m4a')), 4096).scanner, undefined, 'MP4: no scanner');
  // A frame's end is found by the next frame's header: past 1 MiB without one, the stream is not FLAC frames.
  const junk = Buffer.concat([readFileSync(fixture('speech.flac')).subarray(0, 9000), Buffer.alloc(1.1e6, 0x55)]);
  const flac = scan(junk, 4096);
  t.equal(flac.scanner?.failed, true, 'FLAC whose frames stop being frames');
  const mp3 = readFileSync(fixture('speech.mp3'));
  const broken = scan(Buffer.concat([mp3.subarray(0, 5000), Buffer.alloc(100, 0x11), mp3.subarray(5000)]), 512);
  t.equal(broken.scanner?.failed, true, 'MP3 with junk between frames');
  t.ok(broken.cuts.length > 0, 'keeps the cuts before it');
});
