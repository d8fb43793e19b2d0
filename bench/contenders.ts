// The same job done several ways: send `seconds` of linear16 to /v1/listen as fast as the socket takes it, read
// every message, end with CloseStream and wait for the server's close. The Flux job on /v2/listen ends the open
// turn first (ForceEndTurn, and its answer) as the Flux Duplex does.
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import WebSocket from 'ws';
import { DeepgramClient } from '@deepgram/sdk';
import { createFluxStream, createListenStream } from '../lib/index.js';
import { createTranscriber } from '../lib/audio/index.js';
import { RATE, speech, speechWavStream } from './support.js';

const QUERY = { encoding: 'linear16', sample_rate: RATE } as const;

export type Contender = (url: string, seconds: number) => Promise<number>;

function counter(): Writable & { count: number } {
  const sink = new Writable({ objectMode: true, write: (_m, _e, done) => (sink.count++, done()) }) as Writable & {
    count: number;
  };
  sink.count = 0;
  return sink;
}

/** The floor: ws itself, sending with the same bound on its buffer and parsing each message. */
const rawLoop =
  (flux: boolean): Contender =>
  async (url, seconds) => {
    const path = flux ? '/v2/listen?model=flux-general-en&' : '/v1/listen?';
    const ws = new WebSocket(`${url}${path}encoding=linear16&sample_rate=${RATE}`, { perMessageDeflate: false });
    let messages = 0;
    let turnEnded = () => {};
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      messages++;
      if (message.event === 'EndOfTurn' || message.type === 'Warning') turnEnded();
    });
    const closed = once(ws, 'close');
    await once(ws, 'open');
    for await (const chunk of speech(seconds)) {
      if (ws.bufferedAmount > 16384) await new Promise((resolve) => ws.send(chunk, resolve));
      else ws.send(chunk);
    }
    if (flux) {
      const answered = new Promise<void>((resolve) => (turnEnded = resolve));
      ws.send('{"type":"ForceEndTurn"}');
      await answered;
    }
    ws.send('{"type":"CloseStream"}');
    await closed;
    return messages;
  };
export const rawWs = rawLoop(false);
export const rawWsFlux = rawLoop(true);

export const fluxDuplex: Contender = async (url, seconds) => {
  const sink = counter();
  await pipeline(speech(seconds), createFluxStream({ url, query: QUERY }), sink);
  return sink.count;
};

export const listenDuplex: Contender = async (url, seconds) => {
  const sink = counter();
  await pipeline(speech(seconds), createListenStream({ url, query: QUERY }), sink);
  return sink.count;
};

/** With FFmpeg decoding a WAV of the same audio (decode: 'always'). */
export const transcriber: Contender = async (url, seconds) => {
  const sink = counter();
  const source = speechWavStream(seconds);
  await pipeline(source, createTranscriber({ url, decode: 'always' }), sink);
  return sink.count;
};

/** Deepgram's SDK (v5): sendMedia has no backpressure, so it is given the audio as fast as it can be read. */
export const deepgramSdk: Contender = async (url, seconds) => {
  const client = new DeepgramClient({ apiKey: 'bench', baseUrl: url });
  const connection = await client.listen.v1.connect({
    model: 'nova-3',
    ...QUERY,
    sample_rate: String(RATE),
    reconnectAttempts: 0,
  } as never);
  let messages = 0;
  const closed = new Promise<void>((resolve) => connection.on('close', () => resolve()));
  connection.on('message', () => messages++);
  connection.connect();
  await connection.waitForOpen();
  for await (const chunk of speech(seconds)) connection.sendMedia(chunk as Buffer);
  connection.sendCloseStream({ type: 'CloseStream' });
  await closed;
  return messages;
};
