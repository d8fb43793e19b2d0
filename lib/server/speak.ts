// The local server's /v1/speak (speak spec §1): Metadata after the handshake; Speak text buffered; each Flush's
// audio sent faster than real time, then Flushed; Clear drops the text and the audio not yet sent, then Cleared;
// Close after the audio owed. Every limit closes or warns as Deepgram does. The voice is voice.ts's.
import WebSocket, { type RawData } from 'ws';
import { encodeSamples } from '../audio/g711.js';
import { SPEAK_LIMITS, speakFormat, type SpeakLimits } from '../protocol/speak.js';
import { Window } from '../speak/limits.js';
import { modelOf } from './model.js';
import { synthesize } from './voice.js';

export interface SpeakServerOptions {
  /** Milliseconds from a Flush to its first audio. Default 50. */
  ttfbMs?: number;
  /** A connection's longest life before 1011 NET-0003. Default one hour. */
  maxSessionMs?: number;
  /** The limits enforced, if a test needs others. */
  limits?: Partial<SpeakLimits>;
  /** A client that reads nothing while its output waits is cut off after this many ms. Default 12000. */
  stallMs?: number;
}

export interface SpeakSessionSettings extends SpeakServerOptions {
  requestId: string;
  params: URLSearchParams;
}

/** Bytes per binary frame of audio (Deepgram's vary; these are 100 ms or less). */
const FRAME_BYTES = 4800;
/** Audio queued for a client that does not read before sending waits for it. */
const OUTPUT_LIMIT = 1 << 20;

export function speakSession(ws: WebSocket, settings: SpeakSessionSettings): void {
  const limits = { ...SPEAK_LIMITS, ...settings.limits };
  const format = speakFormat(settings.params);
  const model = settings.params.get('model') ?? 'aura-asteria-en';
  const speed = Number(settings.params.get('speed') ?? 1);
  const characters = new Window(limits.charactersPerMinute);
  const flushes = new Window(limits.flushesPerMinute);
  const timers = new Set<NodeJS.Timeout>();
  /** Text since the last Flush, and each Flush's audio still to send, in order. */
  let text = '';
  const owed: { frames: Buffer[] }[] = [];
  let sequence = 0;
  let sending = false;
  let closeAfter = false;

  const later = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };
  /**
   * Output past the limit that the client does not take: its socket is not read meanwhile (its Clears and Speaks add
   * nothing more here), and a client that stays so for `stallMs` is cut off. Output goes on once it reads.
   */
  let stalled: { cutOff: NodeJS.Timeout; check?: NodeJS.Timeout } | undefined;
  const blocked = (): boolean => {
    if (ws.bufferedAmount <= OUTPUT_LIMIT) return false;
    if (!stalled) {
      ws.pause();
      stalled = { cutOff: setTimeout(() => ws.terminate(), settings.stallMs ?? 12_000) };
      recheck();
    }
    return true;
  };
  const recheck = () => {
    if (!stalled || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > OUTPUT_LIMIT) return void (stalled.check = setTimeout(recheck, 10));
    clearTimeout(stalled.cutOff);
    stalled = undefined;
    ws.resume();
    if (sending) pump();
  };
  const send = (message: object) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(message));
    blocked();
  };
  const close = (code: number, reason: string) => {
    if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
  };

  /** The first owed Flush's frames, as fast as the client takes them; Flushed after its last. */
  const pump = () => {
    sending = true;
    while (owed.length > 0 && ws.readyState === WebSocket.OPEN) {
      if (blocked()) return;
      const frame = owed[0].frames.shift();
      if (frame) {
        ws.send(frame);
        continue;
      }
      owed.shift();
      send({ type: 'Flushed', sequence_id: sequence++ });
    }
    sending = false;
    if (closeAfter) close(1000, '');
  };

  /** Flushes past the minute's limit wait for the window together: one Warning, one timer, one answer. */
  let held = false;
  const flush = () => {
    const wait = flushes.wait(1);
    if (wait > 0) {
      if (held) return;
      held = true;
      send({
        type: 'Warning',
        code: 'FLUSH_RATE_EXCEEDED',
        description: `more than ${limits.flushesPerMinute} Flushes a minute: this one waits ${wait} ms`,
      });
      return later(wait, () => ((held = false), flush()));
    }
    flushes.take(1);
    const audio = encodeSamples(synthesize(text, format.sampleRate, speed), format.encoding);
    text = '';
    const frames: Buffer[] = [];
    for (let at = 0; at < audio.length; at += FRAME_BYTES) frames.push(audio.subarray(at, at + FRAME_BYTES));
    const job = { frames };
    later(settings.ttfbMs ?? 50, () => {
      owed.push(job);
      if (!sending) pump();
    });
  };

  const message = (data: RawData, binary: boolean) => {
    if (binary) return close(1003, 'MESSAGE-0000: binary frames are not accepted on /v1/speak');
    let parsed: { type?: unknown; text?: unknown } | undefined;
    try {
      parsed = JSON.parse(String(data));
    } catch {
      parsed = undefined;
    }
    switch (parsed?.type) {
      case 'Speak': {
        if (typeof parsed.text !== 'string') return close(1008, 'DATA-0000: Speak needs a text string');
        if (parsed.text.length > limits.speakCharacters)
          return close(1009, `BIG-0001: a Speak of more than ${limits.speakCharacters} characters`);
        if (characters.wait(parsed.text.length) > 0)
          return close(1008, `DATA-0001: more than ${limits.charactersPerMinute} characters a minute`);
        characters.take(parsed.text.length);
        text += parsed.text;
        return;
      }
      case 'Flush':
        return flush();
      case 'Clear':
        text = '';
        owed.length = 0;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        sending = held = false;
        return send({ type: 'Cleared', sequence_id: sequence++ });
      case 'Close':
        closeAfter = true;
        if (!sending && owed.length === 0 && timers.size === 0) close(1000, '');
        return;
      default:
        return close(1008, 'DATA-0000: unknown message type');
    }
  };

  send({
    type: 'Metadata',
    request_id: settings.requestId,
    model_name: model,
    model_version: '2025-01-01.0',
    model_uuid: modelOf(model).uuid,
  });
  ws.on('message', message);
  const longest = setTimeout(
    () => close(1011, 'NET-0003: the connection reached its longest session'),
    settings.maxSessionMs ?? 3_600_000,
  );
  ws.on('close', () => {
    clearTimeout(longest);
    clearTimeout(stalled?.cutOff);
    clearTimeout(stalled?.check);
    for (const timer of timers) clearTimeout(timer);
  });
}
