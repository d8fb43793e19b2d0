// One /v1/listen connection of the local server: frames in, decoding, ingest throttle, recognizer, close.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import {
  roundMicro, CLOSE_DATA_ERROR, CLOSE_NET_ERROR, CLOSE_NORMAL, CONTROL_TYPES, DATA0000_REASON, NET0000_REASON, NET0001_REASON,
  type MetadataMessage, type ModelInfo, type ServerMessage,
} from '../protocol/messages.js';
import { Recognizer } from './recognizer.js';
import { ffmpegDecoder, rawDecoder, type Pcm, type PcmDecoder } from './pcm.js';
import { rawLayout } from '../protocol/options.js';
import { Fifo } from './fifo.js';

/** Misbehaviour on request, for one connection. */
export interface Faults {
  /** Drop the TCP connection (no close frame) once this many audio bytes have arrived. */
  dropAfterBytes?: number;
  /** Drop the TCP connection this many ms after the upgrade. */
  dropAfterMs?: number;
  /** Close with 1011 NET-0000 this many ms after the upgrade. */
  net0000AfterMs?: number;
  /** Delay every message and the close by this many ms. */
  latencyMs?: number;
  /** Send a frame that is not JSON after this many messages (0: before the first). */
  malformedAfter?: number;
  /** Take CloseStream and then say nothing more, never closing. */
  hangOnClose?: boolean;
}

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
/** Audio the throttle lets through at once, as Deepgram's ingest allows a small burst. */
const BURST_SECONDS = 0.5;

function modelInfo(model: string): { uuid: string; info: ModelInfo } {
  const hex = createHash('sha256').update(model).digest('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return { uuid, info: { name: `local-${model}`, version: 'local', arch: model } };
}

function schemaError(raw: string, detail: string): ServerMessage {
  return {
    type: 'Error', variant: 'SchemaError',
    description: `Could not deserialize last text message: ${detail}`, message: raw,
  };
}

/** What serde would say of a text frame that is not a known control message, or undefined when it is one. */
function controlProblem(raw: string): { parsed?: Record<string, unknown>; problem?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { problem: 'expected value at line 1 column 1' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { problem: `invalid type: expected internally tagged enum at line 1 column ${raw.length}` };
  }
  const type = (parsed as Record<string, unknown>).type;
  if (typeof type !== 'string') return { problem: `missing field \`type\` at line 1 column ${raw.length}` };
  if (!(CONTROL_TYPES as readonly string[]).includes(type)) {
    const at = /"type"\s*:\s*"(?:[^"\\]|\\.)*"/.exec(raw);
    const column = at ? at.index + at[0].length : raw.length;
    const expected = CONTROL_TYPES.map((t) => `\`${t}\``).join(', ');
    return { problem: `unknown variant \`${type}\`, expected one of ${expected} at line 1 column ${column}` };
  }
  return { parsed: parsed as Record<string, unknown> };
}

export class Session {
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #settings: SessionSettings;
  readonly #created = new Date();
  readonly #hash = createHash('sha256');
  readonly #model: { uuid: string; info: ModelInfo };
  #bytes = 0;
  #decoder?: PcmDecoder;
  #decoderFull = false;
  #recognizer?: Recognizer;
  #channels = 0;
  #queue = new Fifo<Item>();
  #queuedSeconds = 0;
  #closing = false;
  #ended = false;
  #firstAudioAt = 0;
  #throttleTimer?: NodeJS.Timeout;
  #outputBlocked = false;
  #sentMessages = 0;
  #timers = new Set<NodeJS.Timeout>();
  #inactivity?: NodeJS.Timeout;

  constructor(ws: WebSocket, socket: Socket, settings: SessionSettings) {
    this.#ws = ws;
    this.#socket = socket;
    this.#settings = settings;
    this.#model = modelInfo(settings.params.get('model') ?? 'base');
    this.#armInactivity();
    const { faults } = settings;
    if (faults.dropAfterMs !== undefined) this.#after(faults.dropAfterMs, () => socket.destroy());
    if (faults.net0000AfterMs !== undefined) {
      this.#after(faults.net0000AfterMs, () => this.#end(CLOSE_NET_ERROR, NET0000_REASON, true));
    }
    if (faults.malformedAfter === 0) this.#sendRaw('{"type":"Results","channel_index":[0,1],');
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
    const { parsed, problem } = controlProblem(raw);
    if (problem) {
      this.#send(schemaError(raw, problem));
      return;
    }
    switch (parsed!.type) {
      case 'CloseStream':
        this.#startClose();
        break;
      case 'Finalize':
        this.#enqueue({ finalize: typeof parsed!.channel === 'number' ? parsed!.channel : undefined });
        break;
      case 'Sync':
        this.#enqueue({ sync: parsed!.id });
        break;
      default: // KeepAlive only resets the timer; Configure's features change nothing the stand-in model does.
    }
  }

  #audio(data: Buffer): void {
    this.#hash.update(data);
    this.#bytes += data.length;
    const { dropAfterBytes } = this.#settings.faults;
    if (dropAfterBytes !== undefined && this.#bytes >= dropAfterBytes) {
      this.#socket.destroy();
      return;
    }
    if (this.#firstAudioAt === 0) this.#firstAudioAt = performance.now();
    (this.#decoder ??= this.#makeDecoder()).write(data);
  }

  #makeDecoder(): PcmDecoder {
    const params = this.#settings.params;
    const events = {
      onPcm: (pcm: Pcm) => this.#safely(() => {
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
    return raw ? rawDecoder(raw, events) : ffmpegDecoder(ANALYSIS_RATE, events);
  }

  #startClose(): void {
    this.#closing = true;
    clearTimeout(this.#inactivity);
    // However much audio is still held (a sample_rate of 1 makes a frame last for days), the slot is given back.
    this.#after(this.#settings.closeDeadline, () => this.#end(CLOSE_NET_ERROR, NET0000_REASON, true));
    if (this.#settings.faults.hangOnClose) return;
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
        const wait = this.#throttleWait();
        if (wait > 0) {
          // One timer at a time, and always the one held here, so that the clean-up can clear it.
          this.#throttleTimer ??= setTimeout(() => {
            this.#throttleTimer = undefined;
            this.#safely(this.#pump);
          }, wait);
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

  #throttleWait(): number {
    const factor = this.#settings.realtimeFactor;
    if (factor === false || !this.#recognizer) return 0;
    const allowed = ((performance.now() - this.#firstAudioAt) / 1000) * factor + BURST_SECONDS;
    const ahead = this.#recognizer.duration - allowed;
    return ahead > 0 ? Math.ceil((ahead / factor) * 1000) : 0;
  }

  #recognize(pcm: Pcm): void {
    if (!this.#recognizer) {
      const p = this.#settings.params;
      this.#channels = pcm.channels;
      const endpointing = p.get('endpointing');
      const utteranceEnd = p.get('utterance_end_ms');
      this.#recognizer = new Recognizer({
        channels: pcm.channels,
        multichannel: p.get('multichannel') === 'true',
        interimResults: p.get('interim_results') === 'true',
        endpointing: endpointing === 'false' ? false : Number(endpointing ?? 10),
        utteranceEndMs: utteranceEnd === null ? undefined : Number(utteranceEnd),
        vadEvents: p.get('vad_events') === 'true',
        punctuate: p.get('punctuate') === 'true' || p.get('smart_format') === 'true',
        diarize: p.get('diarize') === 'true',
        script: this.#settings.script,
        resultsMetadata: { request_id: this.#settings.requestId, model_info: this.#model.info, model_uuid: this.#model.uuid },
      }, (message) => this.#send(message));
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

  #metadata(complete: boolean): MetadataMessage {
    const duration = this.#recognizer?.duration ?? 0;
    const metadata: MetadataMessage = {
      type: 'Metadata',
      transaction_key: 'deprecated',
      request_id: this.#settings.requestId,
      sha256: complete ? this.#hash.digest('hex') : 'incomplete',
      created: this.#created.toISOString(),
      duration: roundMicro(duration),
      channels: this.#channels,
    };
    if (this.#recognizer) {
      metadata.models = [this.#model.uuid];
      metadata.model_info = { [this.#model.uuid]: this.#model.info };
    }
    return metadata;
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
    this.#send(this.#metadata(!incomplete));
    // The client's answer to the close frame must be read, whatever the flow control held back.
    this.#ws.resume();
    this.#later(() => {
      if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(code, reason);
    });
  }

  #send(message: ServerMessage): void {
    const text = JSON.stringify(message);
    this.#later(() => this.#sendRaw(text));
  }

  #later(action: () => void): void {
    const latency = this.#settings.faults.latencyMs;
    if (latency) this.#after(latency, action);
    else action();
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
    if (++this.#sentMessages === this.#settings.faults.malformedAfter) this.#ws.send('{"type":"Results","channel_index":[0,1],');
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
    clearTimeout(this.#throttleTimer);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.clear();
    this.#decoder?.destroy();
  }
}
