import t from 'tap';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecoder, createFramer, createPacer, detectContainer } from '../../lib/audio/index.js';
import { chooseFfmpeg, ffmpegCommand, firstWorking } from '../../lib/audio/ffmpeg.js';
import { collector, ffmpegChildren, fixture, tones } from '../helpers.js';

t.test('containers are named from their first bytes; the rest are not', async (t) => {
  const expected: Record<string, string | undefined> = {
    'speech.wav': 'wav',
    'speech.ogg': 'ogg',
    'speech.webm': 'webm',
    'speech.mp3': 'mp3',
    'speech.flac': 'flac',
    'speech.m4a': undefined,
    'speech.raw': undefined,
  };
  for (const [name, container] of Object.entries(expected)) {
    t.equal(detectContainer(readFileSync(fixture(name)).subarray(0, 12)), container, name);
  }
});

t.test('the decoder turns any container into linear16 at the chosen rate and channels', async (t) => {
  for (const [name, rate, channels] of [
    ['speech.m4a', 16000, 1],
    ['speech.ogg', 8000, 1],
    ['stereo.wav', 16000, 2],
  ] as const) {
    const sink = collector<Buffer>();
    await pipeline(Readable.from([readFileSync(fixture(name))]), createDecoder({ sampleRate: rate, channels }), sink);
    const bytes = Buffer.concat(sink.messages).length;
    const seconds = bytes / (rate * channels * 2);
    t.ok(
      Math.abs(seconds - (name === 'stereo.wav' ? 5 : 7.72)) < 0.05,
      `${name}: ${seconds.toFixed(3)} s at ${rate} Hz x ${channels}`,
    );
  }
});

t.test("input FFmpeg cannot read is a stream error in FFmpeg's words", async (t) => {
  const sink = collector<Buffer>();
  await t.rejects(pipeline(Readable.from([Buffer.from('no audio here '.repeat(50))]), createDecoder(), sink), {
    message: /^FFmpeg could not decode the input: .+/,
  });
});

t.test('a missing FFmpeg is a clear error that says how to get one', async (t) => {
  t.throws(() => firstWorking(['/nonexistent/ffmpeg', undefined]), {
    message: /npm install @ffmpeg-installer\/ffmpeg.*apt-get install ffmpeg.*FFMPEG_PATH/,
  });
  t.equal(
    firstWorking(['/nonexistent/ffmpeg', ffmpegCommand()]),
    ffmpegCommand(),
    'the first candidate that runs is taken',
  );
  t.throws(() => chooseFfmpeg('/usr/bin/ffmpge'), {
    code: 'DG_DECODE',
    message: 'FFMPEG_PATH is /usr/bin/ffmpge, which does not run as FFmpeg: fix it, or unset it',
  });
  t.equal(chooseFfmpeg(ffmpegCommand()), ffmpegCommand(), 'FFMPEG_PATH that runs is the one used');
  t.ok(chooseFfmpeg(undefined), 'unset: a system or the bundled FFmpeg');
});

t.test('the framer re-chunks into frames of N ms; the last carries the rest', async (t) => {
  const audio = tones([1.05]);
  const sink = collector<Buffer>();
  await pipeline(
    Readable.from([audio.subarray(0, 1000), audio.subarray(1000, 9000), audio.subarray(9000)]),
    createFramer({ frameMs: 100, bytesPerSecond: 32000 }),
    sink,
  );
  t.same(
    sink.messages.map((b) => b.length),
    [...Array(10).fill(3200), 1600],
  );
  t.ok(Buffer.concat(sink.messages).equals(audio), 'the bytes are unchanged');
  t.throws(() => createFramer({ frameBytes: 0 }), { code: 'DG_OPTIONS' });
});

t.test('the pacer releases audio no faster than k times real time', async (t) => {
  const sink = collector<Buffer>();
  const started = performance.now();
  await pipeline(
    Readable.from(Array.from({ length: 11 }, () => Buffer.alloc(3200))),
    createPacer({ bytesPerSecond: 32000, speed: 4 }),
    sink,
  );
  const elapsed = performance.now() - started;
  // The 11th 100 ms chunk is due after 1 s of audio, 250 ms at 4x: a lower bound, which a slow machine only lengthens.
  t.ok(elapsed >= 245, `${Math.round(elapsed)} ms for 1.1 s of audio at 4x`);
  t.equal(sink.messages.length, 11);
});

t.test('a decoder made and never used starts no FFmpeg; its first byte does', async (t) => {
  const before = ffmpegChildren();
  const unused = createDecoder();
  t.equal(ffmpegChildren(), before, 'no process for a decoder nobody writes to');
  unused.destroy();
  const used = createDecoder();
  used.write(readFileSync(fixture('speech.wav')).subarray(0, 4096));
  t.equal(ffmpegChildren(), before + 1, 'one once it has input');
  used.destroy();
});
