/** The layout of a WAV stream, read from its RIFF header; sizes may be unknown (streams, pipes). */
export interface WavLayout {
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
      format = {
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
