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
/** Bytes an MP4 may put before its first `moov` or `mdat` box before the probe stops looking. */
const ISO_LOOK = 1 << 20;

/**
 * For an ISO base media file (MP4, M4A, MOV, 3GP): whether its index (`moov`) comes after its samples (`mdat`), so
 * that it can only be decoded from a file; undefined while the bytes seen do not tell yet, or it is not one.
 */
export function indexAtEnd(head: Buffer): boolean | undefined {
  if (head.length < 8 || head.toString('latin1', 4, 8) !== 'ftyp') return undefined;
  let offset = 0;
  while (offset + 8 <= head.length) {
    const type = head.toString('latin1', offset + 4, offset + 8);
    if (type === 'moov') return false;
    if (type === 'mdat') return true;
    const size = head.readUInt32BE(offset);
    if (size < 8) return true; // a 64-bit or to-the-end box first: nothing to stream by
    offset += size;
  }
  return head.length >= ISO_LOOK ? true : undefined;
}

/**
 * Passes bytes through untouched, but first holds them until it can name the container, then emits
 * `format` with the container (undefined when there is none), the bytes held, and whether the input is an MP4
 * with its index at the end (decodable only from a file), before anything flows on.
 */
export class Probe extends Transform {
  #held: Buffer[] = [];
  #size = 0;
  #decided = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#decided) return callback(null, chunk);
    this.#held.push(chunk);
    this.#size += chunk.length;
    if (this.#size >= HEAD_BYTES) {
      // An MP4 is held until its first boxes say where the index is.
      const head = Buffer.concat(this.#held);
      this.#held = [head];
      if (head.toString('latin1', 4, 8) !== 'ftyp' || indexAtEnd(head) !== undefined) this.#decide();
    }
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
    this.emit('format', head.length >= 4 ? detectContainer(head) : undefined, head.length, indexAtEnd(head) ?? false);
    if (head.length > 0) this.push(head);
  }
}
