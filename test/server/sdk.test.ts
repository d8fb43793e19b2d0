// Deepgram's own JavaScript SDK, as a client of the local server: it must not tell the difference.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { DeepgramClient } from '@deepgram/sdk';
import { fixture, serve } from '../helpers.js';

t.test('@deepgram/sdk live client: connect, stream a WAV, read Results and Metadata', async (t) => {
  const server = await serve(t, { apiKey: 'sdk-key', script: readFileSync(fixture('speech.txt'), 'utf8') });
  const client = new DeepgramClient({ apiKey: 'sdk-key', baseUrl: server.url });
  const connection = await client.listen.v1.connect({ model: 'nova-3', interim_results: 'true', punctuate: 'true', reconnectAttempts: 0 } as never);
  const messages: { type: string; [k: string]: any }[] = [];
  const closed = new Promise<number>((resolve) => connection.on('close', (event: { code: number }) => resolve(event.code)));
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

t.test('@deepgram/sdk sees a wrong key refused', async (t) => {
  const server = await serve(t, { apiKey: 'sdk-key' });
  const client = new DeepgramClient({ apiKey: 'wrong', baseUrl: server.url });
  const connection = await client.listen.v1.connect({ model: 'nova-3', reconnectAttempts: 0 } as never);
  const outcome = new Promise<string>((resolve) => {
    connection.on('error', () => resolve('error'));
    connection.on('close', () => resolve('close'));
  });
  connection.connect();
  t.ok(['error', 'close'].includes(await outcome), 'the SDK reports the refusal');
  t.equal(server.connections, 0);
});
