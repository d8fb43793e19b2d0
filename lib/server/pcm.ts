// Turns received audio bytes into float samples: raw encodings here, containers through FFmpeg.
import { runFfmpeg } from '../audio/ffmpeg.js';
import { G711_SAMPLES } from '../audio/g711.js';
import { isCuttablePcm, parseWavHeader } from '../audio/wav.js';
import { rawLayout, type RawLayout } from '../protocol/options.js';

/** Interleaved samples in [-1, 1], with their layout. */
export interface Pcm {
  samples: Float32Array;
  channels: number;
  sampleRate: number;
}

export interface PcmDecoder {
  /** Takes the next bytes; decoded audio arrives through the `onPcm` callback. */
  write(bytes: Buffer): void;
  /** No more bytes; `onEnd` fires once everything is decoded. */
  end(): void;
  /** Holds decoded output back (true) while the session's queue is full, so input cannot expand without bound. */
  hold(held: boolean): void;
  destroy(): void;
}

export interface DecoderEvents {
  onPcm(pcm: Pcm): void;
  onEnd(): void;
  /** The bytes are not audio this decoder can read. */
  onError(reason: string): void;
  /** The decoder holds too much undecoded input: stop reading until `onDrain`. */
  onFull(): void;
  onDrain(): void;
}

/** Raw audio as declared: linear16 (s16le), linear32 (f32le), mulaw, alaw. */
export function rawDecoder(layout: RawLayout, events: DecoderEvents): PcmDecoder {
  const { encoding, sampleRate, channels, sampleBytes: width } = layout;
  let carry = Buffer.alloc(0);
  return {
    write(bytes) {
      const data = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes;
      const usable = data.length - (data.length % (width * channels));
      carry = Buffer.from(data.subarray(usable));
      const count = usable / width;
      if (count === 0) return;
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const at = i * width;
        samples[i] =
          width === 2
            ? data.readInt16LE(at) / 32768
            : width === 4
              ? data.readFloatLE(at)
              : encoding === 'mulaw'
                ? G711_SAMPLES.mulaw[data[at]]
                : G711_SAMPLES.alaw[data[at]];
      }
      events.onPcm({ samples, channels, sampleRate });
    },
    end() {
      events.onEnd();
    },
    hold() {
      // Synchronous: the socket's own flow control holds it.
    },
    destroy() {
      carry = Buffer.alloc(0);
    },
  };
}

/**
 * A plain PCM WAV (16-bit integer or 32-bit float) read here, as the raw audio behind its header: FFmpeg holds
 * seconds of a live pipe before it writes anything, so a WAV streamed in real time would wait for it. Undefined when
 * `first` (the first frame) does not hold such a header.
 */
export function wavDecoder(first: Buffer, events: DecoderEvents): PcmDecoder | undefined {
  const wav = parseWavHeader(first);
  if (!wav || !isCuttablePcm(wav)) return undefined;
  const int16 = wav.format === 1 && wav.bitsPerSample === 16;
  const float32 = wav.format === 3 && wav.bitsPerSample === 32;
  if (!int16 && !float32) return undefined;
  const encoding = int16 ? 'linear16' : 'linear32';
  const raw = rawDecoder(rawLayout({ encoding, sample_rate: wav.sampleRate, channels: wav.channels })!, events);
  let header = wav.dataOffset;
  return {
    ...raw,
    write(bytes) {
      raw.write(bytes.subarray(header));
      header = 0;
    },
  };
}

/** Everything else goes through FFmpeg, which writes WAV so that its header tells rate and channels. */
export function ffmpegDecoder(analysisRate: number, events: DecoderEvents): PcmDecoder {
  let bytesIn = 0;
  const ffmpeg = runFfmpeg(
    ['-i', 'pipe:0', '-vn', '-acodec', 'pcm_s16le', '-ar', String(analysisRate), '-f', 'wav', 'pipe:1'],
    () => bytesIn,
  );
  const { child } = ffmpeg;
  let header: Buffer | undefined = Buffer.alloc(0);
  let channels = 0;
  let carry = Buffer.alloc(0);
  let decodedAny = false;
  // What was decoded before a failed exit (a stream cut short) is kept; only FFmpeg that decoded nothing failed. One
  // that opened a stream holding no samples (a WAV header alone: FFmpeg writes a header) did not fail at all.
  let destroyed = false;
  ffmpeg.outcome.then((error) => {
    if (!destroyed) (error && !decodedAny ? events.onError : events.onEnd)(error?.message ?? '');
  });

  child.stdout.on('data', (chunk: Buffer) => {
    let data = chunk;
    if (header) {
      header = Buffer.concat([header, chunk]);
      const parsed = parseWavHeader(header);
      if (!parsed) return;
      channels = parsed.channels;
      data = header.subarray(parsed.dataOffset);
      header = undefined;
    }
    if (carry.length > 0) data = Buffer.concat([carry, data]);
    const usable = data.length - (data.length % (2 * channels));
    carry = Buffer.from(data.subarray(usable));
    if (usable === 0) return;
    const samples = new Float32Array(usable / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(i * 2) / 32768;
    decodedAny = true;
    events.onPcm({ samples, channels, sampleRate: analysisRate });
  });
  child.stdin.on('drain', () => events.onDrain());

  return {
    write(bytes) {
      bytesIn += bytes.length;
      if (child.stdin.writable && !child.stdin.write(bytes)) events.onFull();
    },
    end() {
      child.stdin.end();
    },
    hold(held) {
      if (held) child.stdout.pause();
      else child.stdout.resume();
    },
    destroy() {
      destroyed = true;
      ffmpeg.kill();
    },
  };
}
