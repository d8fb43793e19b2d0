import { Transform, type TransformCallback } from 'node:stream';

/** Containers Deepgram reads by itself when `encoding` is left out. */
export type Container = 'wav' | 'ogg' | 'webm' | 'mp3' | 'flac';

/** Names the container from its first bytes, or undefined when Deepgram cannot take it as it is. */
export function detectContainer(head: Buffer): Container | undefined {
  const ascii = (from: number, to: number) => head.toString('latin1', from, to);
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (head.readUInt32BE(0) === 0x1a45dfa3) return 'webm';
  if (ascii(0, 3) === 'ID3' || (head[0] === 0xff && (head[1] & 0xe6) === 0xe2)) return 'mp3';
  return undefined;
}

const HEAD_BYTES = 12;

/**
 * Passes bytes through untouched, but first holds them until it can name the container, then emits
 * `format` with the container (undefined when there is none) and the bytes held, before anything flows on.
 */
export class Probe extends Transform {
  #held: Buffer[] = [];
  #size = 0;
  #decided = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#decided) return callback(null, chunk);
    this.#held.push(chunk);
    this.#size += chunk.length;
    if (this.#size >= HEAD_BYTES) this.#decide();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#decided) this.#decide();
    callback();
  }

  #decide(): void {
    this.#decided = true;
    const head = Buffer.concat(this.#held);
    this.#held = [];
    this.emit('format', head.length >= 4 ? detectContainer(head) : undefined, head.length);
    if (head.length > 0) this.push(head);
  }
}
