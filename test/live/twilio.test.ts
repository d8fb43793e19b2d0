// The Twilio bridge, fed a Twilio-shaped session made from a speech fixture: 8 kHz mu-law from the project's FFmpeg,
// cut into 20 ms media messages, some out of order, one dropped, one too late.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { createListenStream, type ServerMessage } from '../../lib/index.js';
import { createTwilioBridge, createTwilioPlayback } from '../../lib/live/index.js';
import { ffmpegCommand } from '../../lib/audio/ffmpeg.js';
import { chunk, collector, finals, fixture, readAll, serve, until } from '../helpers.js';

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

/** A media message of `track` at `timestamp` (ms) carrying `payload`. */
const media = (timestamp: unknown, payload = Buffer.alloc(160, 0xff), track = 'inbound') =>
  JSON.stringify({
    event: 'media',
    streamSid: 'MZ0001',
    media: { track, timestamp, payload: payload.toString('base64') },
  });

t.test(
  'hostile messages are reported and dropped: the process runs on and the good audio is transcribed',
  async (t) => {
    const server = await serve(t, { script: SCRIPT });
    const direct = createListenStream({ url: server.url, query: { encoding: 'mulaw', sample_rate: 8000 } });
    direct.end(MULAW);
    const want = timeline(await readAll(direct));
    const good = session((m) => m);
    const start = JSON.parse(good[1]);
    const cases: [string, (messages: string[]) => string[], RegExp][] = [
      ['JSON null', (m) => [m[0], 'null', ...m.slice(1)], /no event/],
      ['media before start', (m) => [m[0], media(0), ...m.slice(1)], /media before start/],
      ['a second start', (m) => [...m.slice(0, 100), m[1], ...m.slice(100)], /second start/],
      [
        'a timestamp that is no time',
        (m) => [...m.slice(0, 100), media('soon'), media(-5), ...m.slice(100)],
        /not a time/,
      ],
      [
        'a payload over the bound',
        (m) => [...m.slice(0, 100), media(1960, Buffer.alloc(20_000)), ...m.slice(100)],
        /payload over/,
      ],
      ['media after stop', (m) => [...m, media(99_999), media(100_000)], /media after stop/],
      [
        'a track the start did not name',
        (m) => [...m.slice(0, 100), media(1960, undefined, 'x'), ...m.slice(100)],
        /did not name/,
      ],
    ];
    for (const [name, edit, reason] of cases) {
      const bridge = createTwilioBridge({ url: server.url });
      const invalid: { reason: string }[] = [];
      bridge.on('invalid', (e) => invalid.push(e));
      const sink = collector();
      await pipeline(Readable.from(edit(good)), bridge, sink);
      t.match(invalid[0]?.reason, reason, `${name}: reported (${invalid[0]?.reason})`);
      t.same(timeline(sink.messages), want, `${name}: every word of the good audio, at its time`);
    }
    const tracks = { ...start, start: { ...start.start, tracks: Array.from({ length: 64 }, (_, i) => `t${i}`) } };
    const many = createTwilioBridge({ url: server.url });
    const invalid: { reason: string }[] = [];
    many.on('invalid', (e) => invalid.push(e));
    const sink = collector();
    await pipeline(
      Readable.from([good[0], JSON.stringify(tracks), ...good.slice(2).map((m) => m.replace('"inbound"', '"t0"'))]),
      many,
      sink,
    );
    t.match(invalid[0].reason, /64 tracks: the first 2/);
    t.match(sink.messages.at(-1), { type: 'Metadata', channels: 2 });
    const same = { ...start, start: { ...start.start, tracks: ['inbound', 'inbound'] } };
    const doubled = collector();
    await pipeline(
      Readable.from([good[0], JSON.stringify(same), ...good.slice(2)]),
      createTwilioBridge({ url: server.url }),
      doubled,
    );
    t.match(doubled.messages.at(-1), { type: 'Metadata', channels: 1 }, 'a track named twice is one track');
    t.same(timeline(doubled.messages), want);
  },
);

t.test(
  'a timestamp hours ahead is not filled: the gap is reported, memory stays flat, later audio follows on',
  async (t) => {
    const server = await serve(t, { script: SCRIPT });
    for (const ahead of [30 * 3600 * 1000, 1e12, 3600 * 1000]) {
      const bridge = createTwilioBridge({ url: server.url });
      const gaps: { ms: number; skipped?: true }[] = [];
      bridge.on('gap', (e) => gaps.push(e));
      const before = process.memoryUsage().rss;
      // Half the call, then the rest stamped `ahead` ms later.
      const messages = session((list) => list.map((m, i) => (i < 190 ? m : { ...m, timestamp: m.timestamp + ahead })));
      const sink = collector();
      await pipeline(Readable.from(messages), bridge, sink);
      const grown = (process.memoryUsage().rss - before) / 2 ** 20;
      t.ok(grown < 64, `${ahead} ms ahead: RSS grew ${grown.toFixed(1)} MiB`);
      t.match(gaps, [{ ms: ahead, skipped: true }], 'reported as a skipped gap');
      const metadata = sink.messages.at(-1) as { type: string; duration: number };
      t.equal(metadata.type, 'Metadata');
      t.ok(
        Math.abs(metadata.duration - MULAW.length / 8000) < 0.05,
        `the audio sent is the call's (${metadata.duration} s)`,
      );
      t.ok(finals(sink.messages).length > 3, 'and its finals arrived');
    }
  },
);

t.test('speaking back: media with the streamSid, a mark, clear; the bridge tells start and played marks', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => wss.close());
  await once(wss, 'listening');
  const twilio = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  t.teardown(() => twilio.terminate());
  const [[socket]] = await Promise.all([once(wss, 'connection') as Promise<[WebSocket]>, once(twilio, 'open')]);
  const received: Record<string, any>[] = [];
  twilio.on('message', (data) => received.push(JSON.parse(String(data))));
  const playback = createTwilioPlayback(socket, 'MZ9');
  const audio = Buffer.from([0xff, 0x7f, 0x00, 0x80]);
  await new Promise<void>((resolve, reject) => playback.write(audio, (error) => (error ? reject(error) : resolve())));
  playback.mark('reply-1');
  playback.clear();
  await until(() => received.length === 3, 'three messages at Twilio');
  t.same(received, [
    { event: 'media', media: { payload: audio.toString('base64') }, streamSid: 'MZ9' },
    { event: 'mark', mark: { name: 'reply-1' }, streamSid: 'MZ9' },
    { event: 'clear', streamSid: 'MZ9' },
  ]);
  socket.close();
  await once(twilio, 'close');
  await new Promise<void>((resolve) => playback.write(audio, () => resolve()));
  t.pass('a call that hung up takes writes without failing');

  const server = await serve(t);
  const bridge = createTwilioBridge({ url: server.url });
  const started = once(bridge, 'start');
  const marked = once(bridge, 'mark');
  bridge.write({ event: 'start', start: { streamSid: 'MZ9', callSid: 'CA9', tracks: ['inbound'] } });
  bridge.write({ event: 'mark', streamSid: 'MZ9', mark: { name: 'reply-1' } });
  t.match((await started)[0], { streamSid: 'MZ9', callSid: 'CA9' });
  t.same(await marked, ['reply-1']);
  bridge.destroy();
});
