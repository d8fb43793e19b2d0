/** The layout of a WAV stream, read from its RIFF header; sizes may be unknown (streams, pipes). */
export interface WavLayout {
  /** The format tag (1 PCM, 3 float; for WAVE_FORMAT_EXTENSIBLE, the sub-format's). */
  format: number;
  bitsPerSample: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  /** Where the sample data starts: everything before it is header. */
  dataOffset: number;
}

/** Reads a RIFF/WAVE header up to its `data` chunk, or undefined when the bytes do not yet hold one. */
export function parseWavHeader(buffer: Buffer): WavLayout | undefined {
  if (buffer.length < 12 || buffer.toString('latin1', 0, 4) !== 'RIFF' || buffer.toString('latin1', 8, 12) !== 'WAVE') {
    return undefined;
  }
  let offset = 12;
  let format: Omit<WavLayout, 'dataOffset'> | undefined;
  while (offset + 8 <= buffer.length) {
    const id = buffer.toString('latin1', offset, offset + 4);
    const size = buffer.readUInt32LE(offset + 4);
    if (id === 'data') return format ? { ...format, dataOffset: offset + 8 } : undefined;
    if (offset + 8 + size > buffer.length) return undefined;
    if (id === 'fmt ') {
      const tag = buffer.readUInt16LE(offset + 8);
      format = {
        format: tag === 0xfffe && size >= 26 ? buffer.readUInt16LE(offset + 8 + 24) : tag,
        bitsPerSample: buffer.readUInt16LE(offset + 22),
        channels: buffer.readUInt16LE(offset + 10),
        sampleRate: buffer.readUInt32LE(offset + 12),
        byteRate: buffer.readUInt32LE(offset + 16),
        blockAlign: buffer.readUInt16LE(offset + 20),
      };
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

/**
 * Whether the samples can be cut by time: PCM or float, with a block and byte rate that agree with the channels,
 * sample width and rate. Compressed WAV (ADPCM, GSM) or a header that contradicts itself cannot.
 */
export function isCuttablePcm(layout: WavLayout): boolean {
  const { format, bitsPerSample, channels, sampleRate, byteRate, blockAlign } = layout;
  return (
    (format === 1 || format === 3) &&
    bitsPerSample % 8 === 0 &&
    bitsPerSample > 0 &&
    channels > 0 &&
    blockAlign === channels * (bitsPerSample / 8) &&
    byteRate === sampleRate * blockAlign &&
    byteRate > 0
  );
}
