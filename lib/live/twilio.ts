// Twilio Media Streams to a listen stream: Twilio's JSON messages in (text or parsed), server messages out, each
// carrying the call's identifiers. Audio (8 kHz mu-law, one channel per track) is placed by its timestamp: a late
// chunk within the jitter window takes its place, a gap is filled with silence, and both are reported. Its input
// is a stranger's: a gap longer than `maxGapMs` is not filled (the audio after it follows on, and the event says by
// how much it moved), and a message that cannot be used is reported as `invalid` and dropped, never a crash.
import { Duplex } from 'node:stream';
import { createListenStream, type ListenStream, type ListenStreamOptions } from '../listen/listen.js';
import { DeepgramError } from '../listen/errors.js';
import type { ListenQuery } from '../protocol/options.js';
import type { ServerMessage } from '../protocol/messages.js';

/** 8 kHz mu-law: 8 bytes a millisecond; 0xff is silence. */
const BYTES_PER_MS = 8;
const SILENCE = 0xff;

export interface TwilioCall {
  streamSid: string;
  callSid: string;
  tracks: string[];
  customParameters: Record<string, string>;
}

export interface TwilioBridgeOptions extends Omit<ListenStreamOptions, 'query'> {
  /** Query parameters; the audio's encoding, rate, channels and multichannel come from Twilio's `start`. */
  query?: Omit<ListenQuery, 'encoding' | 'sample_rate' | 'channels' | 'multichannel'>;
  /** How long a chunk may arrive late (ms) and still take its place. Default 200. */
  jitterMs?: number;
  /**
   * The longest gap filled with silence (ms). A timestamp further ahead is not believed: the gap is reported with
   * `skipped: true` and the audio after it follows on at once, its times earlier by the gap. Default 5000.
   */
  maxGapMs?: number;
  /** The largest `media` payload taken, in decoded bytes; a larger one is `invalid`. Default 16384 (2 s). */
  maxPayloadBytes?: number;
}

/** A message the bridge could not use, and dropped. */
export interface TwilioInvalidEvent {
  reason: string;
}

/** A gap filled with silence, or a chunk too late for its place (dropped). */
export interface TwilioAudioEvent {
  track: string;
  /** Milliseconds from the start of the stream. */
  at: number;
  ms: number;
  /** A gap longer than `maxGapMs`: not filled, the audio after it moved earlier by `ms`. */
  skipped?: true;
}

/** Twilio sends two tracks at most: inbound and outbound. */
const MAX_TRACKS = 2;

interface Track {
  /** Chunks not yet placed, by their offset in bytes. */
  pending: Map<number, Buffer>;
  /** The end (in bytes) of the latest chunk seen. */
  latest: number;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

class TwilioBridge extends Duplex {
  readonly #options: TwilioBridgeOptions;
  readonly #jitter: number;
  readonly #maxGap: number;
  readonly #maxPayload: number;
  /** Bytes taken off every timestamp: the gaps skipped so far. */
  #skipped = 0;
  #stopped = false;
  #call?: TwilioCall;
  #listen?: ListenStream;
  #tracks = new Map<string, Track>();
  /** Bytes of every track placed so far: the audio before this offset has been sent. */
  #placed = 0;

  constructor(options: TwilioBridgeOptions) {
    super({ writableObjectMode: true, readableObjectMode: true });
    this.#options = options;
    this.#jitter = (options.jitterMs ?? 200) * BYTES_PER_MS;
    this.#maxGap = (options.maxGapMs ?? 5000) * BYTES_PER_MS;
    this.#maxPayload = options.maxPayloadBytes ?? 16384;
  }

  #invalid(reason: string): void {
    this.emit('invalid', { reason } satisfies TwilioInvalidEvent);
  }

  /** The call, once Twilio's `start` has arrived. */
  get call(): TwilioCall | undefined {
    return this.#call;
  }

  override _write(chunk: string | Buffer | object, _encoding: BufferEncoding, callback: (e?: Error | null) => void) {
    let message: unknown;
    try {
      message = typeof chunk === 'string' || Buffer.isBuffer(chunk) ? JSON.parse(chunk.toString()) : chunk;
    } catch {
      return callback(new DeepgramError('DG_PROTOCOL', 'a Twilio Media Streams message that is not JSON'));
    }
    const { event } = record(message);
    if (event === 'start') {
      if (this.#call) this.#invalid('a second start: the call has started already');
      else this.#start(record(record(message).start));
    } else if (event === 'media') {
      if (!this.#listen) this.#invalid('media before start');
      else if (this.#stopped) this.#invalid('media after stop');
      else return this.#media(record(record(message).media), callback);
    } else if (event === 'stop') {
      return this.#finish(callback);
    } else if (event === 'mark') {
      this.emit('mark', String(record(record(message).mark).name ?? '')); // played up to a mark of ours
    } else if (typeof event !== 'string') {
      this.#invalid('a message with no event');
    }
    callback();
  }

  override _final(callback: (e?: Error | null) => void): void {
    this.#finish(callback);
  }

  #start(start: Record<string, unknown>): void {
    const named = Array.isArray(start.tracks) ? [...new Set(start.tracks.map(String))] : [];
    if (named.length > MAX_TRACKS) this.#invalid(`${named.length} tracks: the first ${MAX_TRACKS} are taken`);
    const tracks = named.length > 0 ? named.slice(0, MAX_TRACKS) : ['inbound'];
    const format = record(start.mediaFormat);
    if (format.encoding !== undefined && format.encoding !== 'audio/x-mulaw') {
      this.destroy(
        new DeepgramError('DG_OPTIONS', `Twilio sends ${String(format.encoding)}; the bridge takes audio/x-mulaw`),
      );
      return;
    }
    this.#call = {
      streamSid: String(start.streamSid ?? ''),
      callSid: String(start.callSid ?? ''),
      tracks,
      customParameters: Object.fromEntries(
        Object.entries(record(start.customParameters)).map(([k, v]) => [k, String(v)]),
      ),
    };
    for (const track of tracks) this.#tracks.set(track, { pending: new Map(), latest: 0 });
    this.emit('start', this.#call);
    const { query = {}, jitterMs: _, ...listenOptions } = this.#options;
    const listen = createListenStream({
      ...listenOptions,
      query: {
        ...query,
        encoding: 'mulaw',
        sample_rate: 8000,
        channels: tracks.length,
        multichannel: tracks.length > 1,
      },
    });
    this.#listen = listen;
    const call = this.#call;
    listen.on(
      'data',
      (m: ServerMessage) =>
        this.push({ ...m, call: { streamSid: call.streamSid, callSid: call.callSid } }) || listen.pause(),
    );
    listen.on('metadata', (metadata) => this.emit('metadata', metadata));
    listen.on('end', () => this.push(null));
    listen.on('error', (error) => this.destroy(error));
  }

  override _read(): void {
    this.#listen?.resume();
  }

  #media(media: Record<string, unknown>, callback: (e?: Error | null) => void): void {
    const name = String(media.track ?? 'inbound');
    const track = this.#tracks.get(name);
    const at =
      typeof media.timestamp === 'string' || typeof media.timestamp === 'number' ? Number(media.timestamp) : NaN;
    if (!track) return (this.#invalid(`media of a track the start did not name (${name.slice(0, 40)})`), callback());
    if (!Number.isFinite(at) || at < 0) return (this.#invalid('media whose timestamp is not a time'), callback());
    if (typeof media.payload !== 'string') return (this.#invalid('media with no payload'), callback());
    if (media.payload.length > (this.#maxPayload * 4) / 3 + 4)
      return (this.#invalid(`a payload over ${this.#maxPayload} bytes`), callback());
    const audio = Buffer.from(media.payload, 'base64');
    let offset = Math.round(at) * BYTES_PER_MS - this.#skipped;
    const latest = this.#latest();
    if (offset - latest > this.#maxGap) {
      // Not believed: the audio follows on from the latest, and the event says how far it moved.
      const ms = (offset - latest) / BYTES_PER_MS;
      this.emit('gap', { track: name, at: latest / BYTES_PER_MS, ms, skipped: true } satisfies TwilioAudioEvent);
      this.#skipped += offset - latest;
      offset = latest;
    }
    if (offset < this.#placed) {
      this.#report('late', name, offset - this.#placed, offset - this.#placed + audio.length);
      return callback();
    }
    track.pending.set(offset, audio);
    track.latest = Math.max(track.latest, offset + audio.length);
    this.#release(this.#latest() - this.#jitter, callback);
  }

  /** The end (in bytes) of the latest chunk of any track: never before what was placed, which it was released by. */
  #latest(): number {
    let latest = 0;
    for (const track of this.#tracks.values()) latest = Math.max(latest, track.latest);
    return latest;
  }

  /** Places every track's audio up to `until` bytes (silence where nothing came) and sends it, interleaved. */
  #release(until: number, callback: (e?: Error | null) => void): void {
    const span = until - this.#placed;
    if (span <= 0) return callback();
    const columns = [...this.#tracks.entries()].map(([name, track]) => {
      const column = Buffer.alloc(span, SILENCE);
      let filled = 0;
      for (const offset of [...track.pending.keys()].sort((x, y) => x - y)) {
        if (offset >= until) break;
        const audio = track.pending.get(offset)!;
        track.pending.delete(offset);
        const at = offset - this.#placed;
        if (at > filled) this.#report('gap', name, filled, at);
        audio.copy(column, at, 0, Math.min(audio.length, span - at));
        filled = Math.max(filled, at + audio.length);
        if (offset + audio.length > until) track.pending.set(until, audio.subarray(until - offset));
      }
      if (filled < span) this.#report('gap', name, filled, span);
      return column;
    });
    this.#placed = until;
    const bytes = columns.length === 1 ? columns[0] : Buffer.alloc(span * columns.length);
    if (columns.length > 1) {
      for (let i = 0; i < span; i++)
        for (let c = 0; c < columns.length; c++) bytes[i * columns.length + c] = columns[c][i];
    }
    this.#listen!.write(bytes, callback);
  }

  #report(kind: 'gap' | 'late', track: string, from: number, to: number): void {
    this.emit(kind, {
      track,
      at: (this.#placed + from) / BYTES_PER_MS,
      ms: (to - from) / BYTES_PER_MS,
    } satisfies TwilioAudioEvent);
  }

  #finish(callback: (e?: Error | null) => void): void {
    this.#stopped = true;
    const listen = this.#listen;
    if (!listen) {
      callback(new DeepgramError('DG_NO_AUDIO', 'the Twilio stream ended before its start message: there is no audio'));
      return;
    }
    if (listen.writableEnded) return callback();
    const end = this.#latest();
    this.#release(end, (error) => {
      if (error) return callback(error);
      listen.end();
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (e?: Error | null) => void): void {
    this.#listen?.destroy();
    callback(error);
  }
}

/**
 * A bridge for one Twilio `<Stream>`: write Twilio's messages (text or parsed), read server messages with `call`
 * (streamSid, callSid). `stop` (or ending it) ends the listen stream, after which every final is delivered. Emits
 * `start` (the TwilioCall), `gap` and `late` ({ track, at, ms }) for audio that did not arrive in time, `invalid`
 * ({ reason }) for a message it dropped, `mark` (a name) when Twilio has played up to a playback's mark, and
 * `metadata`.
 */
export function createTwilioBridge(options: TwilioBridgeOptions = {}): Duplex & { readonly call?: TwilioCall } {
  return new TwilioBridge(options);
}
