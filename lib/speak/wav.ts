// WAV for speech out: a header with the audio's rate, channels and sample format, written once before the audio.
// Streamed, the sizes are not known yet: they say "to the end" (0xFFFFFFFF less the header), which players and
// FFmpeg read as a stream; `wavHeader(format, bytes)` gives the exact header for a file rewritten at the end.
import { Transform } from 'node:stream';
import type { SpeakEncoding } from '../protocol/speak.js';

export interface WavFormat {
  encoding: SpeakEncoding;
  sampleRate: number;
  channels?: number;
}

const HEADER_BYTES = 44;
const STREAMING = 0xffffffff - HEADER_BYTES + 8;

/** The 44-byte header for `dataBytes` of audio (unknown: the streaming sizes). */
export function wavHeader({ encoding, sampleRate, channels = 1 }: WavFormat, dataBytes?: number): Buffer {
  const bytesPerSample = encoding === 'linear16' ? 2 : 1;
  const header = Buffer.alloc(HEADER_BYTES);
  const data = dataBytes ?? STREAMING;
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(dataBytes === undefined ? 0xffffffff : data + HEADER_BYTES - 8, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(encoding === 'linear16' ? 1 : encoding === 'alaw' ? 6 : 7, 20); // PCM, A-law, µ-law
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * bytesPerSample, 28);
  header.writeUInt16LE(channels * bytesPerSample, 32);
  header.writeUInt16LE(bytesPerSample * 8, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data, 40);
  return header;
}

/** A Transform that writes the header once, before the first audio (or alone, for no audio), then the audio as is. */
export function createWavWriter(format: WavFormat): Transform {
  let header: Buffer | undefined = wavHeader(format);
  const take = (push: (chunk: Buffer) => void) => {
    if (header) push(header);
    header = undefined;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      take((h) => this.push(h));
      callback(null, chunk);
    },
    flush(callback) {
      take((h) => this.push(h));
      callback();
    },
  });
}
