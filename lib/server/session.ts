// One /v1/listen connection of the local server: frames in, decoding, ingest throttle, recognizer, close.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import {
  CLOSE_DATA_ERROR,
  CLOSE_NET_ERROR,
  CLOSE_NORMAL,
  DATA0000_REASON,
  NET0000_REASON,
  NET0001_REASON,
  type ServerMessage,
} from '../protocol/messages.js';
import { Recognizer, recognizerSettings } from './recognizer.js';
import { closingMetadata, modelOf, resultsMetadata, type Model } from './model.js';
import { ffmpegDecoder, rawDecoder, wavDecoder, type Pcm, type PcmDecoder } from './pcm.js';
import { rawLayout } from '../protocol/options.js';
import { Fifo } from './fifo.js';
import { parseControl, schemaError } from '../protocol/control.js';
import { FaultInjector, type Faults } from './faults.js';
import { Throttle } from './throttle.js';

export interface SessionSettings {
  requestId: string;
  params: URLSearchParams;
  faults: Faults;
  /** Audio seconds taken per wall second, or false for as fast as it comes. */
  realtimeFactor: number | false;
  inactivityTimeout: number;
  /** Milliseconds after CloseStream by which the session has closed, whatever it still holds. */
  closeDeadline: number;
  /** Words to say in order; undefined for words chosen by the audio itself. */
  script?: string[];
}

type Item = { pcm: Pcm } | { finalize: number | undefined } | { sync: unknown } | { close: true };

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
  readonly #created = new Date();
  readonly #hash = createHash('sha256');
  readonly #model: Model;
  #bytes = 0;
  #decoder?: PcmDecoder;
  #decoderFull = false;
  #recognizer?: Recognizer;
  #channels = 0;
  #queue = new Fifo<Item>();
  #queuedSeconds = 0;
  #closing = false;
  #ended = false;
  #outputBlocked = false;
  readonly #faults: FaultInjector;
  readonly #throttle: Throttle;
  #timers = new Set<NodeJS.Timeout>();
  #inactivity?: NodeJS.Timeout;

  constructor(ws: WebSocket, socket: Socket, settings: SessionSettings) {
    this.#ws = ws;
    this.#settings = settings;
    this.#throttle = new Throttle(settings.realtimeFactor);
    this.#model = modelOf(settings.params.get('model') ?? 'base');
    this.#armInactivity();
    this.#faults = new FaultInjector(settings.faults, {
      drop: () => socket.destroy(),
      net0000: () => this.#end(CLOSE_NET_ERROR, NET0000_REASON, true),
      sendRaw: (text) => this.#ws.readyState === WebSocket.OPEN && this.#ws.send(text),
      after: (ms, action) => this.#after(ms, action),
    });
    this.#faults.start();
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#safely(() => this.#frame(data, isBinary)));
    ws.on('error', () => {});
    ws.on('close', () => this.#cleanUp());
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
    this.#inactivity?.refresh();
    if (this.#closing) return;
    if (!isBinary) {
      this.#text(data.toString('utf8'));
    } else if (data.length === 0) {
      this.#startClose(); // the legacy close: an empty binary frame
    } else {
      this.#audio(data);
    }
  }

  #text(raw: string): void {
    const parsed = parseControl(raw);
    if ('problem' in parsed) return this.#send(schemaError(raw, parsed.problem));
    const { type, channel, id } = parsed.control;
    // KeepAlive only resets the timer; Configure's features change nothing the stand-in model does.
    if (type === 'CloseStream') this.#startClose();
    else if (type === 'Finalize') this.#enqueue({ finalize: channel });
    else if (type === 'Sync') this.#enqueue({ sync: id });
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
    clearTimeout(this.#inactivity);
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
        const wait = this.#throttle.wait(this.#recognizer?.duration ?? 0);
        if (wait > 0) {
          this.#throttle.resumeIn(wait, () => this.#safely(this.#pump));
          break;
        }
        this.#queuedSeconds -= item.pcm.samples.length / item.pcm.channels / item.pcm.sampleRate;
        this.#recognize(item.pcm);
      } else if ('finalize' in item) {
        this.#recognizer?.finalize(item.finalize);
      } else if ('sync' in item) {
        this.#send({ type: 'Sync', id: item.sync });
      } else {
        this.#queue.clear();
        this.#recognizer?.flush();
        this.#end(CLOSE_NORMAL, '', false);
        return;
      }
      this.#queue.take();
    }
    this.#flow();
  };

  #recognize(pcm: Pcm): void {
    if (!this.#recognizer) {
      this.#channels = pcm.channels;
      this.#recognizer = new Recognizer(
        recognizerSettings(this.#settings.params, {
          channels: pcm.channels,
          script: this.#settings.script,
          resultsMetadata: resultsMetadata(this.#model, this.#settings.requestId),
        }),
        (message) => this.#send(message),
      );
    }
    this.#recognizer.push(pcm.samples, pcm.channels, pcm.sampleRate);
  }

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
      clearTimeout(this.#inactivity);
    } else if (!hold && this.#ws.isPaused) {
      this.#ws.resume();
      this.#armInactivity();
    }
  }

  #armInactivity(): void {
    clearTimeout(this.#inactivity);
    if (this.#closing) return;
    this.#inactivity = setTimeout(() => this.#safely(() => this.#timedOut()), this.#settings.inactivityTimeout);
  }

  #timedOut(): void {
    if (!this.#closing) this.#end(CLOSE_NET_ERROR, NET0001_REASON, true);
  }

  /** Metadata, then the close frame; nothing is processed after. */
  #end(code: number, reason: string, incomplete: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closing = true;
    clearTimeout(this.#inactivity);
    this.#send(
      closingMetadata({
        requestId: this.#settings.requestId,
        created: this.#created,
        sha256: incomplete ? 'incomplete' : this.#hash.digest('hex'),
        duration: this.#recognizer?.duration ?? 0,
        channels: this.#channels,
        model: this.#recognizer && this.#model,
      }),
    );
    // The client's answer to the close frame must be read, whatever the flow control held back.
    this.#ws.resume();
    this.#faults.later(() => {
      if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(code, reason);
    });
  }

  #send(message: ServerMessage): void {
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
    if (this.#ws.readyState !== WebSocket.OPEN) return;
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
    clearTimeout(this.#inactivity);
    this.#throttle.stop();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.clear();
    this.#decoder?.destroy();
  }
}
