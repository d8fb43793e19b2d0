// The decoder stage (createDecoder) against the ffmpeg command line, decoding the same MP3 to 16 kHz linear16.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecoder } from '../lib/audio/index.js';
import { ffmpegCommand } from '../lib/audio/ffmpeg.js';
import { median, round, speechWav } from './support.js';

export async function decoding(quick: boolean) {
  const seconds = quick ? 120 : 1800;
  const wav = join(tmpdir(), 'dgs-bench.wav');
  const mp3 = join(tmpdir(), 'dgs-bench.mp3');
  writeFileSync(wav, speechWav(seconds));
  spawnSync(ffmpegCommand(), ['-y', '-loglevel', 'error', '-i', wav, '-c:a', 'libmp3lame', '-b:a', '32k', mp3]);
  const count = () => {
    const sink = new Writable({ write: (c: Buffer, _e, done) => ((sink.bytes += c.length), done()) }) as Writable & {
      bytes: number;
    };
    sink.bytes = 0;
    return sink;
  };
  const stage = async () => {
    const sink = count();
    await pipeline(createReadStream(mp3), createDecoder({ sampleRate: 16000, channels: 1 }), sink);
    return sink.bytes;
  };
  const cli = async () => {
    const child = spawn(ffmpegCommand(), [
      '-loglevel',
      'error',
      '-i',
      mp3,
      '-f',
      's16le',
      '-acodec',
      'pcm_s16le',
      '-ar',
      '16000',
      '-ac',
      '1',
      'pipe:1',
    ]);
    const sink = count();
    child.stdout.pipe(sink);
    await once(child, 'close');
    return sink.bytes;
  };
  const times: Record<string, number[]> = { stage: [], cli: [] };
  let bytes = 0;
  for (let round = 0; round < 3; round++) {
    for (const [name, run] of [
      ['stage', stage],
      ['cli', cli],
    ] as const) {
      const started = performance.now();
      bytes = await run();
      times[name].push(performance.now() - started);
    }
  }
  return {
    audioSeconds: seconds,
    decodedBytes: bytes,
    stageMs: round(median(times.stage), 0),
    ffmpegCliMs: round(median(times.cli), 0),
    stageVsCli: round(median(times.cli) / median(times.stage), 2),
  };
}
