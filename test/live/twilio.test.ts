// The Twilio bridge, fed a Twilio-shaped session made from a speech fixture: 8 kHz mu-law from the project's FFmpeg,
// cut into 20 ms media messages, some out of order, one dropped, one too late.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createListenStream, createTwilioBridge, type ServerMessage } from '../../lib/index.js';
import { ffmpegCommand } from '../../lib/audio/ffmpeg.js';
import { chunk, collector, finals, fixture, readAll, serve } from '../helpers.js';

const MULAW = execFileSync(
  ffmpegCommand(),
  ['-loglevel', 'error', '-i', fixture('speech.wav'), '-ar', '8000', '-ac', '1', '-f', 'mulaw', 'pipe:1'],
  {
    maxBuffer: 1 << 24,
  },
);
const SCRIPT = 'hello world this is a test of live transcription every word should arrive in order with its time';

/** Finals as words with their times: what must come out the same however the chunks arrived. */
const timeline = (messages: ServerMessage[]) =>
  finals(messages).flatMap((f) => f.channel.alternatives[0].words.map((w) => `${w.word}@${w.start}-${w.end}`));

function session(
  order: (chunks: { timestamp: number; payload: Buffer }[]) => { timestamp: number; payload: Buffer }[],
  tracks = ['inbound'],
) {
  const media = chunk(MULAW, 160).map((payload, i) => ({ timestamp: i * 20, payload }));
  return [
    { event: 'connected', protocol: 'Call', version: '1.0.0' },
    {
      event: 'start',
      sequenceNumber: '1',
      start: {
        streamSid: 'MZ0001',
        accountSid: 'AC0001',
        callSid: 'CA0001',
        tracks,
        customParameters: { caller: 'test' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
      streamSid: 'MZ0001',
    },
    ...order(media).flatMap(({ timestamp, payload }, i) =>
      tracks.map((track) => ({
        event: 'media',
        sequenceNumber: String(i + 2),
        streamSid: 'MZ0001',
        media: {
          track,
          chunk: String(timestamp / 20 + 1),
          timestamp: String(timestamp),
          payload: payload.toString('base64'),
        },
      })),
    ),
    { event: 'stop', streamSid: 'MZ0001', stop: { accountSid: 'AC0001', callSid: 'CA0001' } },
  ].map((message) => JSON.stringify(message));
}

t.test('chunks out of order take their place; a dropped one is silence, reported; times match the audio', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  // The same audio straight to a listen stream, with chunk 50 (1.00 s) as silence: what the bridge must send.
  const expected = Buffer.from(MULAW);
  expected.fill(0xff, 50 * 160, 51 * 160);
  const direct = createListenStream({ url: server.url, query: { encoding: 'mulaw', sample_rate: 8000 } });
  direct.end(expected);
  const want = timeline(await readAll(direct));
  t.ok(want.length >= 10, `${want.length} words`);

  const bridge = createTwilioBridge({ url: server.url });
  const gaps: unknown[] = [];
  bridge.on('gap', (gap) => gaps.push(gap));
  const sink = collector();
  const shuffled = session((media) => {
    const list = media.filter((m) => m.timestamp !== 1000); // dropped
    [list[20], list[21]] = [list[21], list[20]]; // swapped neighbours
    list.splice(75, 0, ...list.splice(70, 1)); // 100 ms late, within the jitter window
    return list;
  });
  await pipeline(Readable.from(shuffled), bridge, sink);
  t.same(timeline(sink.messages), want, 'the same words at the same times');
  t.same(gaps, [{ track: 'inbound', at: 1000, ms: 20 }], 'the dropped chunk, reported where it was');
  t.ok(
    sink.messages.every((m) => (m as { call?: { streamSid: string } }).call?.streamSid === 'MZ0001'),
    'every message names the call',
  );
  t.match(sink.messages[sink.messages.length - 1], { type: 'Metadata', call: { callSid: 'CA0001' } });
});

t.test('a chunk later than the jitter window is dropped and reported; its place stays silent', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const bridge = createTwilioBridge({ url: server.url, jitterMs: 100 });
  const late: unknown[] = [];
  const gaps: unknown[] = [];
  bridge.on('late', (e) => late.push(e));
  bridge.on('gap', (e) => gaps.push(e));
  const messages = session((media) => {
    const list = [...media];
    list.splice(60, 0, ...list.splice(30, 1)); // 600 ms late
    return list;
  });
  const sink = collector();
  await pipeline(Readable.from(messages), bridge, sink);
  t.same(late, [{ track: 'inbound', at: 600, ms: 20 }]);
  t.same(gaps, [{ track: 'inbound', at: 600, ms: 20 }]);
  t.equal(sink.messages[sink.messages.length - 1].type, 'Metadata');
});

t.test('both tracks go as two channels with multichannel', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const bridge = createTwilioBridge({ url: server.url });
  const sink = collector();
  await pipeline(Readable.from(session((m) => m, ['inbound', 'outbound'])), bridge, sink);
  const channels = new Set(finals(sink.messages).map((f) => f.channel_index.join('/')));
  t.same([...channels].sort(), ['0/2', '1/2']);
  t.match(sink.messages[sink.messages.length - 1], { type: 'Metadata', channels: 2 });
});

t.test('a stream that stops before its start is an error, not an empty success', async (t) => {
  const bridge = createTwilioBridge({ url: 'ws://127.0.0.1:1' });
  await t.rejects(pipeline(Readable.from([JSON.stringify({ event: 'stop' })]), bridge, collector()), {
    code: 'DG_NO_AUDIO',
  });
});
