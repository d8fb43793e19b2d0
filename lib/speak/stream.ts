// The speak Duplex: text in (strings, LLM tokens as they come), raw audio out, over the same link as the listen
// streams (dial, refusals, close codes, liveness, the close deadline), speaking /v1/speak. end() loses no audio:
// Flush, every frame up to its Flushed, Close, the server's close. clear() is barge-in: Clear goes out at once and
// no audio from before it is read. The server's limits are kept here, so that it never has to close.
import { Duplex, addAbortSignal } from 'node:stream';
import WebSocket from 'ws';
import { DeepgramError } from '../listen/errors.js';
import { Link } from '../listen/link.js';
import { linkSettings, sessionQuery, type SessionOptions } from '../listen/options.js';
import { SPEAK_V1 } from './protocol.js';
import { splitText, Window } from './limits.js';
import {
  SPEAK_LIMITS,
  speakFormat,
  type SpeakLimits,
  type SpeakMetadataMessage,
  type SpeakQuery,
} from '../protocol/speak.js';
import type { SessionMessage } from '../protocol/flux.js';

type Callback = (error?: Error | null) => void;

export interface SpeakStreamOptions extends Omit<SessionOptions<SpeakQuery>, 'reconnect' | 'keepAlive'> {
  /** Flush after this many ms without new text (a reply that paused); false: only flush() and end(). Default false. */
  flushAfter?: number | false;
  /** Audio bytes held for the reader before the socket stops being read. Default 1 MiB. */
  readableHighWaterMark?: number;
  /** The server's limits, if a deployment's differ (speak spec §1). */
  limits?: Partial<SpeakLimits>;
}

export interface SpeakWarning {
  code: string;
  description: string;
}

export interface SpeakStream {
  on(event: 'data', listener: (audio: Buffer) => void): this;
  on(event: 'metadata', listener: (metadata: SpeakMetadataMessage) => void): this;
  on(event: 'flushed' | 'cleared', listener: (sequenceId: number) => void): this;
  on(event: 'warning', listener: (warning: SpeakWarning) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer>;
}

/** The most audio a character of text brings, in seconds: speech runs at about 15 characters a second. */
const SECONDS_PER_CHARACTER = 1;

/** Written in order with the text: the end of a reply. */
const FLUSH = Symbol('flush');

export class SpeakStream extends Duplex {
  /** The audio's encoding, rate and bytes per sample, as the query asks. */
  readonly format: ReturnType<typeof speakFormat>;
  readonly #link: Link;
  readonly #limits: SpeakLimits;
  readonly #characters: Window;
  readonly #flushes: Window;
  readonly #flushAfter: number | false;
  readonly #audioMark: number;
  readonly #closeMs: number;
  readonly #audio: Buffer[] = [];
  #audioBytes = 0;
  /** Audio bytes the text sent so far may still bring: more than that is no progress, however long it flows. */
  #owed = 0;
  /** The reader asked for audio that was not there yet. */
  #wanted = false;
  #metadata?: SpeakMetadataMessage;
  #whenOpen?: () => void;
  #textSinceFlush = false;
  #flushesSent = 0;
  #flushed = 0;
  /** Clears sent and not yet answered: audio until the answer was synthesized before them. */
  #clearing = 0;
  /** end()'s continuation once every Flush is answered. */
  #ending?: () => void;
  #serverClosed = false;
  /** A write waiting for the minute's budget, and its callback. */
  #timer?: NodeJS.Timeout;
  #waiting?: Callback;
  #idleFlush?: NodeJS.Timeout;

  constructor(options: SpeakStreamOptions = {}) {
    super({ writableObjectMode: true, readableHighWaterMark: 0, allowHalfOpen: true });
    const query = sessionQuery(options, SPEAK_V1);
    const settings = linkSettings(options, SPEAK_V1, query);
    this.format = speakFormat(query);
    this.#closeMs = settings.closeTimeout;
    this.#limits = { ...SPEAK_LIMITS, ...options.limits };
    this.#characters = new Window(this.#limits.charactersPerMinute);
    this.#flushes = new Window(this.#limits.flushesPerMinute);
    this.#flushAfter = options.flushAfter ?? false;
    this.#audioMark = options.readableHighWaterMark ?? 1 << 20;
    this.#link = new Link(settings, {
      open: () => {
        this.emit('open', { requestId: this.requestId, reconnected: false });
        this.#resumeWaiting();
      },
      beforeReplay: () => [],
      message: (message) => this.#message(message),
      audioFrame: (data) => this.#received(data),
      end: () => this.#closed(),
      failed: (error) => this.destroy(error),
      reconnect: () => {},
    });
    if (options.signal) addAbortSignal(options.signal, this);
  }

  /** `dg-request-id` of the session, once the upgrade has answered. */
  get requestId(): string | undefined {
    return this.#link.requestId;
  }

  /** The Metadata the server sent after the handshake. */
  get metadata(): SpeakMetadataMessage | undefined {
    return this.#metadata;
  }

  /** The end of a reply: its audio is synthesized and sent now, then `flushed`. In order with the text before it. */
  flush(): void {
    this.write(FLUSH);
  }

  /** Barge-in: the server drops what it holds and stops, and no audio from before this call is read. */
  clear(): void {
    if (this.destroyed || this.#serverClosed) return;
    this.#link.send(JSON.stringify({ type: 'Clear' }));
    this.#clearing++;
    this.#textSinceFlush = false;
    this.#audio.length = 0;
    this.#audioBytes = 0;
    // A chunk the Readable already holds for a reader that reads with read() (for await) is dropped too.
    if (this.listenerCount('data') === 0) while (this.readableLength > 0) this.read();
    this.#link.pause(false);
  }

  #message(message: SessionMessage): void {
    if (message.type === 'Metadata' && 'model_name' in message) {
      this.#metadata = message;
      this.emit('metadata', message);
    } else if (message.type === 'Flushed') {
      this.#flushed++;
      this.emit('flushed', message.sequence_id);
      if (this.#flushed >= this.#flushesSent) this.#ending?.();
    } else if (message.type === 'Cleared') {
      this.#clearing = Math.max(0, this.#clearing - 1);
      // A Clear answers every Flush before it: no Flushed will come for them.
      this.#flushed = this.#flushesSent;
      this.emit('cleared', message.sequence_id);
      this.#ending?.();
    } else if (message.type === 'Warning') {
      this.emit('warning', { code: message.code, description: message.description });
    }
    this.emit('message', message);
  }

  /** Audio from the server; whether it is progress: within what the text sent may bring. */
  #received(data: Buffer): boolean {
    this.#owed -= data.length;
    if (this.#clearing === 0 && data.length > 0) {
      this.#audio.push(data);
      this.#audioBytes += data.length;
      if (this.#audioBytes > this.#audioMark) this.#link.pause(true);
      this.#deliver();
    }
    return this.#owed >= 0;
  }

  /** Audio goes to the reader only when it asks, so that clear() finds it here, not in the Readable's buffer. */
  #deliver(): void {
    // A pipe paused by its destination still listens for 'data': what is pushed now would reach it after a clear().
    const held = this.readableFlowing === false && this.listenerCount('data') > 0;
    while (this.#wanted && !held && this.#audio.length > 0) {
      const chunk = this.#audio.shift()!;
      this.#audioBytes -= chunk.length;
      this.#wanted = this.push(chunk);
    }
    if (this.#audioBytes <= this.#audioMark / 2) this.#link.pause(false);
    if (this.#serverClosed && this.#audio.length === 0) this.push(null);
  }

  override _read(): void {
    this.#wanted = true;
    this.#deliver();
  }

  #mustWait(): boolean {
    return this.#link.ws.readyState === WebSocket.CONNECTING;
  }

  #resumeWaiting(): void {
    const pending = this.#whenOpen;
    this.#whenOpen = undefined;
    pending?.();
  }

  override _write(item: string | Buffer | typeof FLUSH, _encoding: BufferEncoding, callback: Callback): void {
    if (this.#mustWait()) return void (this.#whenOpen = () => this._write(item, _encoding, callback));
    if (this.#link.ws.readyState !== WebSocket.OPEN)
      return callback(new DeepgramError('DG_CLOSED', 'the session is closed; this text was not sent'));
    if (item === FLUSH) return this.#flush(callback);
    const text = typeof item === 'string' ? item : item.toString('utf8');
    const max = Math.min(this.#limits.speakCharacters, this.#limits.charactersPerMinute);
    this.#speak(splitText(text, max), callback);
  }

  /** Each piece once the minute's character budget has room for it: a write waits, never fails. */
  #speak(pieces: string[], callback: Callback): void {
    while (pieces.length > 0) {
      const wait = this.#characters.wait(pieces[0].length);
      if (wait > 0) return this.#wait(wait, () => this.#speak(pieces, callback), callback);
      const text = pieces.shift()!;
      this.#characters.take(text.length);
      this.#owed += text.length * SECONDS_PER_CHARACTER * this.format.sampleRate * this.format.bytes;
      this.#link.send(JSON.stringify({ type: 'Speak', text }));
      this.#textSinceFlush = true;
    }
    if (this.#flushAfter !== false) {
      clearTimeout(this.#idleFlush);
      this.#idleFlush = setTimeout(() => this.writable && this.flush(), this.#flushAfter).unref();
    }
    callback();
  }

  /** A Flush once the minute has room for one; flushes with no text between them are one. */
  #flush(callback: Callback): void {
    if (!this.#textSinceFlush) return callback();
    const wait = this.#flushes.wait(1);
    if (wait > 0) return this.#wait(wait, () => this.#flush(callback), callback);
    clearTimeout(this.#idleFlush);
    this.#flushes.take(1);
    this.#flushesSent++;
    this.#textSinceFlush = false;
    this.#link.send(JSON.stringify({ type: 'Flush' }));
    callback();
  }

  #wait(ms: number, then: () => void, callback: Callback): void {
    this.#waiting = callback;
    this.#timer = setTimeout(() => {
      this.#waiting = undefined;
      then();
    }, ms);
  }

  /** Flush, every Flush answered (the server must keep making audio meanwhile), Close, then the server's close. */
  override _final(callback: Callback): void {
    if (this.#mustWait()) return void (this.#whenOpen = () => this._final(callback));
    this.#flush(() => {
      const close = () => {
        this.#ending = undefined;
        this.#link.send(JSON.stringify({ type: 'Close' }));
        this.#link.closing();
        callback();
      };
      if (this.#flushed >= this.#flushesSent) return close();
      this.#ending = close;
      const ms = this.#closeMs;
      this.#link.deadline(ms, () =>
        this.destroy(
          new DeepgramError('DG_CLOSE_TIMEOUT', `no Flushed within ${ms} ms of the last audio`, {
            requestId: this.requestId,
          }),
        ),
      );
    });
  }

  /** The server closed cleanly: the audio still held is read, then the end. */
  #closed(): void {
    this.#serverClosed = true;
    clearTimeout(this.#timer);
    this.#waiting?.(new DeepgramError('DG_CLOSED', 'the server closed the session before this text was sent'));
    this.#resumeWaiting();
    this.#ending?.();
    this.#deliver();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#idleFlush);
    this.#whenOpen = undefined;
    this.#link.destroy();
    callback(error);
  }
}

/** Opens a `/v1/speak` session as a Duplex. Options that can never work throw before connecting. */
export function createSpeakStream(options: SpeakStreamOptions = {}): SpeakStream {
  return new SpeakStream(options);
}
