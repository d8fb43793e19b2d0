// One connection of the local server: frames in, decoding, ingest throttle, flow control, faults, close. What the
// session says (the protocol of /v1/listen or of Flux's /v2/listen) is its dialect's.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import {
  CLOSE_DATA_ERROR,
  CLOSE_NET_ERROR,
  DATA0000_REASON,
  NET0000_REASON,
  NET0001_REASON,
} from '../protocol/messages.js';
import { ffmpegDecoder, rawDecoder, wavDecoder, type Pcm, type PcmDecoder } from './pcm.js';
import { rawLayout } from '../protocol/options.js';
import { Deadline } from '../listen/deadline.js';
import { Fifo } from './fifo.js';
import { FaultInjector, type Faults } from './faults.js';
import { Throttle } from './throttle.js';
import type { Dialect, DialectHost, SessionReport } from './dialect.js';

export interface SessionSettings {
  requestId: string;
  path: string;
  params: URLSearchParams;
  faults: Faults;
  /** Audio seconds taken per wall second, or false for as fast as it comes. */
  realtimeFactor: number | false;
  /** Milliseconds without a frame before the close; the dialect's default when undefined. */
  inactivityTimeout?: number;
  /** Milliseconds after CloseStream by which the session has closed, whatever it still holds. */
  closeDeadline: number;
  /** Words to say in order; undefined for words chosen by the audio itself. */
  script?: string[];
  dialect: (host: DialectHost) => Dialect;
  /** Told once, when the socket has closed. */
  onEnd?: (report: SessionReport) => void;
}

type Item = { pcm: Pcm } | { control: unknown } | { close: true };

const ANALYSIS_RATE = 16000;
/** Decoded audio queued ahead of the recognizer before the socket (and FFmpeg's output) stops being read. */
const QUEUE_SECONDS = 2;
/** Items (Finalize, Sync, audio) queued before the socket stops being read. */
const QUEUE_ITEMS = 256;
/** Bytes waiting to go to a slow client before the recognizer waits for it. */
const OUTPUT_LIMIT = 1 << 20;

export class Session {
  readonly #ws: WebSocket;
  readonly #settings: SessionSettings;
  readonly #hash = createHash('sha256');
  readonly #dialect: Dialect;
  #bytes = 0;
  #decoder?: PcmDecoder;
  #decoderFull = false;
  #queue = new Fifo<Item>();
  #queuedSeconds = 0;
  #closing = false;
  #ended = false;
  #outputBlocked = false;
  readonly #faults: FaultInjector;
  readonly #throttle: Throttle;
  #timers = new Set<NodeJS.Timeout>();
  /** NET-0001's deadline, judged after the reads a stall left waiting (a thousand sessions stall a process). */
  readonly #inactivity = new Deadline();
  /** A client that does not read its messages holds the session only this long: not reset by anything it sends. */
  #held?: NodeJS.Timeout;
  /** The hangAfterBytes fault struck: nothing more is sent. */
  #hung = false;

  constructor(ws: WebSocket, socket: Socket, settings: SessionSettings) {
    this.#ws = ws;
    this.#settings = settings;
    this.#throttle = new Throttle(settings.realtimeFactor);
    this.#faults = new FaultInjector(settings.faults, {
      drop: () => socket.destroy(),
      hang: () => {
        this.#hung = true;
        socket.pause();
        this.#cleanUp();
      },
      net0000: () => this.#end(CLOSE_NET_ERROR, NET0000_REASON, true),
      sendRaw: (text) => this.#ws.readyState === WebSocket.OPEN && this.#ws.send(text),
      after: (ms, action) => this.#after(ms, action),
    });
    this.#dialect = settings.dialect({
      requestId: settings.requestId,
      params: settings.params,
      script: settings.script,
      faults: settings.faults,
      send: (message) => this.#send(message),
      end: (code, reason) => this.#end(code, reason, false),
    });
    this.#armInactivity();
    this.#faults.start();
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#safely(() => this.#frame(data, isBinary)));
    if (this.#dialect.pingsKeepAlive) ws.on('ping', () => this.#inactivity.refresh());
    ws.on('error', () => {});
    ws.on('close', (code: number) => {
      this.#cleanUp();
      settings.onEnd?.({ requestId: settings.requestId, path: settings.path, bytes: this.#bytes, code });
    });
  }

  /** Every way in (frames, decoder output, timers) goes through here: a fault ends this session, never the server. */
  #safely(action: () => void): void {
    try {
      action();
    } catch {
      this.#end(CLOSE_NET_ERROR, 'internal error', true);
    }
  }

  #frame(data: Buffer, isBinary: boolean): void {
    this.#inactivity.refresh();
    if (this.#closing) return;
    if (!isBinary) {
      const action = this.#dialect.text(data.toString('utf8'));
      if (action === 'close') this.#startClose();
      else if (action) this.#enqueue({ control: action.queue });
    } else if (data.length === 0) {
      this.#startClose(); // the legacy close: an empty binary frame
    } else {
      this.#audio(data);
    }
  }

  #audio(data: Buffer): void {
    this.#hash.update(data);
    this.#bytes += data.length;
    if (this.#faults.audio(this.#bytes)) return;
    this.#throttle.audio();
    (this.#decoder ??= this.#makeDecoder(data)).write(data);
  }

  /** Raw audio as its query declares it; a plain PCM WAV read here; anything else through FFmpeg. */
  #makeDecoder(first: Buffer): PcmDecoder {
    const params = this.#settings.params;
    const events = {
      onPcm: (pcm: Pcm) =>
        this.#safely(() => {
          this.#queuedSeconds += pcm.samples.length / pcm.channels / pcm.sampleRate;
          this.#enqueue({ pcm });
        }),
      onEnd: () => this.#safely(() => this.#enqueue({ close: true })),
      onError: () => this.#end(CLOSE_DATA_ERROR, DATA0000_REASON, false),
      onFull: () => {
        this.#decoderFull = true;
        this.#flow();
      },
      onDrain: () => {
        this.#decoderFull = false;
        this.#flow();
      },
    };
    const raw = rawLayout(params);
    return raw ? rawDecoder(raw, events) : (wavDecoder(first, events) ?? ffmpegDecoder(ANALYSIS_RATE, events));
  }

  #startClose(): void {
    this.#closing = true;
    this.#inactivity.clear();
    // However much audio is still held (a sample_rate of 1 makes a frame last for days), the slot is given back.
    this.#after(this.#settings.closeDeadline, () => this.#end(CLOSE_NET_ERROR, NET0000_REASON, true));
    if (this.#faults.hangsOnClose) return;
    if (this.#decoder) this.#decoder.end();
    else this.#enqueue({ close: true });
  }

  #enqueue(item: Item): void {
    this.#queue.push(item);
    this.#pump();
  }

  /** Feeds queued items to the recognizer in order, as fast as the throttle and the client allow. */
  #pump = (): void => {
    while (this.#queue.length > 0 && !this.#ended) {
      if (this.#outputBlocked) break;
      const item = this.#queue.peek()!;
      if ('pcm' in item) {
        const wait = this.#throttle.wait(this.#dialect.duration);
        if (wait > 0) {
          this.#throttle.resumeIn(wait, () => this.#safely(this.#pump));
          break;
        }
        this.#queuedSeconds -= item.pcm.samples.length / item.pcm.channels / item.pcm.sampleRate;
        this.#dialect.audio(item.pcm);
      } else if ('control' in item) {
        this.#dialect.control(item.control);
      } else {
        this.#queue.clear();
        this.#dialect.flush();
        this.#end(undefined, '', false);
        return;
      }
      this.#queue.take();
    }
    this.#flow();
  };

  /**
   * Reads the socket only while the decoder, the queue and the client's side of the socket have room; FFmpeg's
   * output waits while the queue is full. While the server holds the socket, the client cannot be idle: the
   * inactivity timer stops.
   */
  #flow(): void {
    if (this.#ended) return;
    const full = this.#queuedSeconds > QUEUE_SECONDS;
    this.#decoder?.hold(full);
    const hold = full || this.#decoderFull || this.#outputBlocked || this.#queue.length > QUEUE_ITEMS;
    if (hold && !this.#ws.isPaused) {
      this.#ws.pause();
      this.#inactivity.clear();
    } else if (!hold && this.#ws.isPaused) {
      this.#ws.resume();
      this.#armInactivity();
    }
    if (!this.#outputBlocked) {
      clearTimeout(this.#held);
      this.#held = undefined;
    } else {
      this.#held ??= setTimeout(() => this.#ws.terminate(), this.#inactivityMs);
    }
  }

  get #inactivityMs(): number {
    return this.#settings.inactivityTimeout ?? this.#dialect.inactivityTimeout;
  }

  #armInactivity(): void {
    if (this.#closing) return this.#inactivity.clear();
    this.#inactivity.set(this.#inactivityMs, () => this.#safely(() => this.#timedOut()));
  }

  #timedOut(): void {
    if (!this.#closing) this.#end(CLOSE_NET_ERROR, NET0001_REASON, true);
  }

  /** The dialect's last message (Metadata on /v1), then the close frame; nothing is processed after. */
  #end(code: number | undefined, reason: string, incomplete: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closing = true;
    this.#inactivity.clear();
    const sha256 = incomplete ? 'incomplete' : this.#hash.digest('hex');
    const close = this.#dialect.ending({ code, reason, sha256 });
    // The client's answer to the close frame must be read, whatever the flow control held back.
    this.#ws.resume();
    this.#faults.later(() => {
      if (this.#ws.readyState !== WebSocket.OPEN) return;
      if (close.code === undefined) this.#ws.close();
      else this.#ws.close(close.code, close.reason);
      // A client that reads nothing never answers the close frame (queued behind what it did not read): it is cut
      // off after the inactivity timeout, not ws's 30 s.
      this.#after(this.#inactivityMs, () => this.#ws.terminate());
    });
  }

  #send(message: object): void {
    const text = JSON.stringify(message);
    this.#faults.later(() => this.#sendRaw(text));
  }

  #after(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }

  #sendRaw(text: string): void {
    if (this.#ws.readyState !== WebSocket.OPEN || this.#hung) return;
    this.#ws.send(text, this.#onFlushed);
    if (this.#ws.bufferedAmount > OUTPUT_LIMIT && !this.#outputBlocked) {
      this.#outputBlocked = true;
      this.#flow();
    }
    this.#faults.sent();
  }

  #onFlushed = (): void => {
    if (this.#outputBlocked && this.#ws.bufferedAmount <= OUTPUT_LIMIT) {
      this.#outputBlocked = false;
      this.#safely(this.#pump);
    }
  };

  #cleanUp(): void {
    this.#ended = true;
    this.#inactivity.clear();
    clearTimeout(this.#held);
    this.#throttle.stop();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.clear();
    this.#decoder?.destroy();
  }
}
