// Turns received audio bytes into samples: raw encodings here, containers through FFmpeg.
import { runFfmpeg } from '../audio/ffmpeg.js';
import { G711_SAMPLES } from '../audio/g711.js';
import { isCuttablePcm, parseWavHeader } from '../audio/wav.js';
import { rawLayout, type RawLayout } from '../protocol/options.js';

/** Interleaved samples, each times `scale` in [-1, 1] (linear16 is read in place, not converted), with their layout. */
export interface Pcm {
  samples: Int16Array | Float32Array;
  scale: number;
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

/** The samples in `count` units of `data`, one loop per encoding: this runs on every frame of every session. */
type Convert = (data: Buffer, count: number) => Pick<Pcm, 'samples' | 'scale'>;

function converter(encoding: RawLayout['encoding']): Convert {
  if (encoding === 'mulaw' || encoding === 'alaw') {
    const table = G711_SAMPLES[encoding];
    return (data, count) => {
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) samples[i] = table[data[i]];
      return { samples, scale: 1 };
    };
  }
  const linear16 = encoding === 'linear16';
  const width = linear16 ? 2 : 4;
  return (data, count) => {
    // Read in place when the bytes are aligned for it (nearly always; Node's pool aligns to 8), copied when not.
    const source = data.byteOffset % width === 0 ? data : Buffer.from(data);
    return linear16
      ? { samples: new Int16Array(source.buffer, source.byteOffset, count), scale: 1 / 32768 }
      : { samples: new Float32Array(source.buffer, source.byteOffset, count), scale: 1 };
  };
}

/** Raw audio as declared: linear16 (s16le), linear32 (f32le), mulaw, alaw. */
export function rawDecoder(layout: RawLayout, events: DecoderEvents): PcmDecoder {
  const { sampleRate, channels, sampleBytes: width, blockBytes } = layout;
  const convert = converter(layout.encoding);
  let carry: Buffer | undefined;
  return {
    write(bytes) {
      const data = carry ? Buffer.concat([carry, bytes]) : bytes;
      const usable = data.length - (data.length % blockBytes);
      carry = usable < data.length ? Buffer.from(data.subarray(usable)) : undefined;
      if (usable === 0) return;
      // Field by field, not a spread and then more: V8 gives each such object a hidden class of its own, and the
      // reads of thousands of them (here, and the decoders and events below) go megamorphic.
      const { samples, scale } = convert(data, usable / width);
      events.onPcm({ samples, scale, channels, sampleRate });
    },
    end() {
      events.onEnd();
    },
    hold() {
      // Synchronous: the socket's own flow control holds it.
    },
    destroy() {
      carry = undefined;
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
    write(bytes) {
      raw.write(bytes.subarray(header));
      header = 0;
    },
    end: () => raw.end(),
    hold: (held) => raw.hold(held),
    destroy: () => raw.destroy(),
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
  let header = Buffer.alloc(0);
  /** What follows FFmpeg's WAV header is raw linear16 at the analysis rate, read as any raw audio is. */
  let pcm: PcmDecoder | undefined;
  let decodedAny = false;
  // What was decoded before a failed exit (a stream cut short) is kept; only FFmpeg that decoded nothing failed. One
  // that opened a stream holding no samples (a WAV header alone: FFmpeg writes a header) did not fail at all.
  let destroyed = false;
  ffmpeg.outcome.then((error) => {
    if (!destroyed) (error && !decodedAny ? events.onError : events.onEnd)(error?.message ?? '');
  });

  child.stdout.on('data', (chunk: Buffer) => {
    if (pcm) return pcm.write(chunk);
    header = Buffer.concat([header, chunk]);
    const parsed = parseWavHeader(header);
    if (!parsed) return;
    const layout = rawLayout({ encoding: 'linear16', sample_rate: analysisRate, channels: parsed.channels })!;
    const { onEnd, onError, onFull, onDrain } = events;
    pcm = rawDecoder(layout, {
      onPcm: (samples) => ((decodedAny = true), events.onPcm(samples)),
      onEnd,
      onError,
      onFull,
      onDrain,
    });
    pcm.write(header.subarray(parsed.dataOffset));
    header = Buffer.alloc(0); // let go of what it held
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
