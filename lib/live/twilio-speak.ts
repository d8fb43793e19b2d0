// Speech back into a Twilio call: audio (8 kHz µ-law, as a speak stream makes it with `encoding: 'mulaw'`) to
// Twilio as `media` messages on the call's own socket, a `mark` that Twilio echoes once it has played up to it, and
// Twilio's `clear` on barge-in, which drops what Twilio holds unplayed.
import { Writable } from 'node:stream';
import type WebSocket from 'ws';

export class TwilioPlayback extends Writable {
  readonly #ws: WebSocket;
  readonly #streamSid: string;

  constructor(ws: WebSocket, streamSid: string) {
    super({ highWaterMark: 16 * 1024 });
    this.#ws = ws;
    this.#streamSid = streamSid;
  }

  /** Twilio echoes a `mark` with this name once the audio before it has played (the bridge emits `mark`). */
  mark(name: string): void {
    this.#send({ event: 'mark', mark: { name } });
  }

  /** Barge-in: Twilio drops the audio it holds and stops playing at once. */
  clear(): void {
    this.#send({ event: 'clear' });
  }

  /** Each chunk a `media` message; the write completes once the socket has taken it (backpressure). */
  override _write(audio: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.#send({ event: 'media', media: { payload: audio.toString('base64') } }, callback)) callback();
  }

  /** Sends when the socket is open (a call that hung up takes nothing more); false when it was not. */
  #send(message: object, done?: (error?: Error) => void): boolean {
    if (this.#ws.readyState !== this.#ws.OPEN) return false;
    this.#ws.send(JSON.stringify({ ...message, streamSid: this.#streamSid }), done);
    return true;
  }
}

/** A Writable of µ-law audio into the Twilio call on `ws`, the call's `streamSid` (the bridge's `start` event). */
export function createTwilioPlayback(ws: WebSocket, streamSid: string): TwilioPlayback {
  return new TwilioPlayback(ws, streamSid);
}
