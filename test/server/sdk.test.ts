// Deepgram's own JavaScript SDKs (v5, and v4 under an npm alias), as clients of the local server: neither must tell
// the difference, whether the server runs in one process or in several.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { DeepgramClient } from '@deepgram/sdk';
import { createClient, LiveTranscriptionEvents } from 'deepgram-sdk-v4';
import { fixture, serve, serveBuilt } from '../helpers.js';

// Each against the server in this process, and spread over two worker processes (startServer's `workers`).
for (const workers of [0, 2]) {
  const where = workers ? ', through two worker processes' : '';

  t.test(`@deepgram/sdk live client: connect, stream a WAV, read Results and Metadata${where}`, async (t) => {
    const server = await (workers ? serveBuilt : serve)(t, {
      workers,
      apiKey: 'sdk-key',
      script: readFileSync(fixture('speech.txt'), 'utf8'),
    });
    const client = new DeepgramClient({ apiKey: 'sdk-key', baseUrl: server.url });
    const connection = await client.listen.v1.connect({
      model: 'nova-3',
      interim_results: 'true',
      punctuate: 'true',
      reconnectAttempts: 0,
    } as never);
    const messages: { type: string; [k: string]: any }[] = [];
    const closed = new Promise<number>((resolve) =>
      connection.on('close', (event: { code: number }) => resolve(event.code)),
    );
    connection.on('message', (message: any) => messages.push(message));
    connection.connect();
    await connection.waitForOpen();
    const audio = readFileSync(fixture('speech.wav'));
    for (let i = 0; i < audio.length; i += 8000) connection.sendMedia(audio.subarray(i, i + 8000));
    connection.sendCloseStream({ type: 'CloseStream' });
    t.equal(await closed, 1000);
    const finals = messages.filter((m) => m.type === 'Results' && m.is_final);
    t.ok(finals.length > 0, `${finals.length} finals`);
    t.match(finals[0].channel.alternatives[0].transcript, /^Hello world\./);
    t.match(messages[messages.length - 1], { type: 'Metadata', channels: 1 });
  });

  t.test(`@deepgram/sdk sees a wrong key refused${where}`, async (t) => {
    const server = await (workers ? serveBuilt : serve)(t, { workers, apiKey: 'sdk-key' });
    const client = new DeepgramClient({ apiKey: 'wrong', baseUrl: server.url });
    const connection = await client.listen.v1.connect({ model: 'nova-3', reconnectAttempts: 0 } as never);
    const refused = new Promise<Error>((resolve) => connection.on('error', (error: Error) => resolve(error)));
    connection.connect();
    t.match((await refused).message, /401/, 'the SDK reports the 401');
    t.equal(server.connections, 0);
  });

  t.test(`@deepgram/sdk 4 (ListenLiveClient): the same session, with its own events${where}`, async (t) => {
    const server = await (workers ? serveBuilt : serve)(t, {
      workers,
      apiKey: 'v4-key',
      script: readFileSync(fixture('speech.txt'), 'utf8'),
    });
    const client = createClient({ key: 'v4-key', global: { websocket: { options: { url: server.url } } } });
    const connection = client.listen.live({
      model: 'nova-3',
      punctuate: true,
      interim_results: true,
      vad_events: true,
      utterance_end_ms: 300,
    });
    const seen: Record<string, any[]> = {
      transcript: [],
      metadata: [],
      speech: [],
      utterance: [],
      unhandled: [],
      error: [],
    };
    connection.on(LiveTranscriptionEvents.Transcript, (m: unknown) => seen.transcript.push(m));
    connection.on(LiveTranscriptionEvents.Metadata, (m: unknown) => seen.metadata.push(m));
    connection.on(LiveTranscriptionEvents.SpeechStarted, (m: unknown) => seen.speech.push(m));
    connection.on(LiveTranscriptionEvents.UtteranceEnd, (m: unknown) => seen.utterance.push(m));
    connection.on(LiveTranscriptionEvents.Unhandled, (m: unknown) => seen.unhandled.push(m));
    connection.on(LiveTranscriptionEvents.Error, (m: unknown) => seen.error.push(m));
    const closed = new Promise<number>((resolve) =>
      connection.on(LiveTranscriptionEvents.Close, (event: { code: number }) => resolve(event.code)),
    );
    await new Promise<void>((resolve) => connection.on(LiveTranscriptionEvents.Open, () => resolve()));
    const audio = readFileSync(fixture('speech.wav'));
    for (let i = 0; i < audio.length; i += 8000) {
      const part = audio.subarray(i, i + 8000);
      // v4 takes ArrayBuffers
      connection.send(part.buffer.slice(part.byteOffset, part.byteOffset + part.length) as ArrayBuffer);
    }
    connection.requestClose();
    t.equal(await closed, 1000);
    const finals = seen.transcript.filter((m) => m.is_final);
    t.match(finals[0].channel.alternatives[0].transcript, /^Hello world\./);
    t.equal(seen.metadata.length, 1, 'one Metadata, routed to its own event');
    t.ok(seen.speech.length > 0, 'SpeechStarted routed');
    t.ok(seen.utterance.length > 0, 'UtteranceEnd routed');
    t.same(seen.unhandled, [], 'nothing the SDK did not recognise');
    t.same(seen.error, []);
  });
}
