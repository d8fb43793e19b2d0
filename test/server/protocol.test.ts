import t from 'tap';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { ffmpegChildren, fixture, serve, sha256, tones } from '../helpers.js';
import { NET0001_REASON, type ServerMessage } from '../../lib/index.js';

/** A raw client: every message and the close, as the wire gives them. */
async function session(url: string, query = '') {
  const ws = new WebSocket(`${url}/v1/listen${query}`);
  const messages: ServerMessage[] = [];
  const texts: string[] = [];
  ws.on('message', (data, isBinary) => {
    t.notOk(isBinary, 'the server never sends binary');
    texts.push(data.toString());
    messages.push(JSON.parse(data.toString()));
  });
  const closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  await once(ws, 'open');
  return { ws, messages, texts, closed };
}

const LINEAR16 = '?encoding=linear16&sample_rate=16000';

t.test('SchemaError for unknown or malformed text, and the socket stays open', async (t) => {
  const server = await serve(t);
  const s = await session(server.url, LINEAR16);
  s.ws.send('{ "type": "KeepAlive "}');
  s.ws.send('not json');
  s.ws.send('{"kind":"x"}');
  s.ws.send(JSON.stringify({ type: 'CloseStream' }));
  await s.closed;
  t.same(
    s.messages[0],
    {
      type: 'Error',
      variant: 'SchemaError',
      description:
        'Could not deserialize last text message: unknown variant `KeepAlive `, expected one of `CloseStream`, ' +
        '`Configure`, `Sync`, `KeepAlive`, `Finalize` at line 1 column 22',
      message: '{ "type": "KeepAlive "}',
    },
    'verbatim as Deepgram words it',
  );
  t.match(s.messages[1], { type: 'Error', variant: 'SchemaError', description: /expected value at line 1 column 1/ });
  t.match(s.messages[2], { type: 'Error', description: /missing field `type`/ });
  t.equal(s.messages[3].type, 'Metadata', 'the session went on to a normal close');
});

t.test('CloseStream with no audio: Metadata with the empty hash, channels 0, duration 0, then 1000', async (t) => {
  const server = await serve(t);
  const s = await session(server.url);
  s.ws.send('{"type":"CloseStream"}');
  const close = await s.closed;
  t.equal(close.code, 1000);
  t.equal(s.messages.length, 1);
  const keys = Object.keys(s.messages[0]);
  t.same(
    keys,
    ['type', 'transaction_key', 'request_id', 'sha256', 'created', 'duration', 'channels'],
    'field order, and no models when nothing was decoded',
  );
  t.match(s.messages[0], {
    type: 'Metadata',
    transaction_key: 'deprecated',
    duration: 0,
    channels: 0,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    created: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
  });
});

t.test('an empty binary frame is the legacy CloseStream', async (t) => {
  const server = await serve(t);
  const s = await session(server.url, LINEAR16);
  const audio = tones([1]);
  s.ws.send(audio);
  s.ws.send(Buffer.alloc(0));
  t.equal((await s.closed).code, 1000);
  const metadata = s.messages[s.messages.length - 1] as { sha256: string; duration: number; models: string[] };
  t.equal(metadata.sha256, sha256(audio), 'sha256 over the audio bytes');
  t.equal(metadata.duration, 1);
  t.equal(metadata.models.length, 1);
});

t.test('Results carry the wire field order and one request_id everywhere', async (t) => {
  const server = await serve(t);
  const s = await session(server.url, `${LINEAR16}&model=nova-3`);
  s.ws.send(tones([1, 0.5]));
  s.ws.send('{"type":"CloseStream"}');
  await s.closed;
  const results = s.messages.filter((m) => m.type === 'Results') as Record<string, any>[];
  t.ok(results.length > 0);
  t.same(Object.keys(results[0]), [
    'type',
    'channel_index',
    'duration',
    'start',
    'is_final',
    'speech_final',
    'channel',
    'metadata',
    'from_finalize',
  ]);
  const metadata = s.messages[s.messages.length - 1] as Record<string, any>;
  for (const r of results) t.equal(r.metadata.request_id, metadata.request_id);
  t.equal(metadata.model_info[results[0].metadata.model_uuid].arch, 'nova-3');
});

t.test('inactivity: Metadata with sha256 "incomplete", then 1011 with the NET-0001 text', async (t) => {
  const server = await serve(t, { inactivityTimeout: 200 });
  const s = await session(server.url, LINEAR16);
  s.ws.send(tones([0.3]));
  const close = await s.closed;
  t.equal(close.code, 1011);
  t.equal(close.reason, NET0001_REASON);
  t.match(s.messages[s.messages.length - 1], { type: 'Metadata', sha256: 'incomplete', duration: 0.3, channels: 1 });
});

t.test('text frames reset the inactivity timer too', async (t) => {
  const server = await serve(t, { inactivityTimeout: 200 });
  const s = await session(server.url, LINEAR16);
  const timer = setInterval(() => s.ws.send('{"type":"KeepAlive"}'), 50);
  await new Promise((r) => setTimeout(r, 600));
  clearInterval(timer);
  t.equal(s.ws.readyState, WebSocket.OPEN);
  s.ws.send('{"type":"CloseStream"}');
  t.equal((await s.closed).code, 1000);
});

t.test('undecodable audio: 1008 DATA-0000', async (t) => {
  const server = await serve(t);
  const s = await session(server.url);
  s.ws.send(Buffer.from('definitely not audio '.repeat(100)));
  s.ws.send('{"type":"CloseStream"}');
  const close = await s.closed;
  t.equal(close.code, 1008);
  t.equal(close.reason, 'DATA-0000');
  t.match(s.messages[s.messages.length - 1], { type: 'Metadata', channels: 0, duration: 0 });
});

t.test('Sync is echoed; Configure and KeepAlive are taken silently', async (t) => {
  const server = await serve(t);
  const s = await session(server.url, LINEAR16);
  s.ws.send('{"type":"Configure","features":{"numerals":true}}');
  s.ws.send('{"type":"KeepAlive"}');
  s.ws.send('{"type":"Sync","id":42}');
  s.ws.send('{"type":"CloseStream"}');
  await s.closed;
  t.same(
    s.messages.map((m) => m.type),
    ['Sync', 'Metadata'],
  );
  t.same(s.messages[0], { type: 'Sync', id: 42 });
});

t.test('containers are decoded with FFmpeg: duration and channels right for each', async (t) => {
  const server = await serve(t);
  const expected: Record<string, [number, number]> = {
    'speech.wav': [7.72, 1],
    'speech.mp3': [7.74, 1],
    'speech.ogg': [7.72, 1],
    'speech.webm': [7.72, 1],
    'speech.flac': [7.72, 1],
    'speech.m4a': [7.74, 1],
    'stereo.wav': [5, 2],
  };
  for (const [name, [duration, channels]] of Object.entries(expected)) {
    const s = await session(server.url);
    const bytes = readFileSync(fixture(name));
    for (let i = 0; i < bytes.length; i += 4096) s.ws.send(bytes.subarray(i, i + 4096));
    s.ws.send('{"type":"CloseStream"}');
    t.equal((await s.closed).code, 1000, name);
    const metadata = s.messages[s.messages.length - 1] as { duration: number; channels: number; sha256: string };
    t.ok(Math.abs(metadata.duration - duration) < 0.03, `${name}: ${metadata.duration} s`);
    t.equal(metadata.channels, channels, `${name}: ${channels} channel(s)`);
    t.equal(metadata.sha256, sha256(bytes), `${name}: sha256 of the bytes sent`);
  }
});

t.test('raw encodings are read as declared: linear32, mulaw, alaw, stereo linear16', async (t) => {
  const server = await serve(t);
  const cases: [string, Buffer, number][] = [
    ['encoding=linear32&sample_rate=8000', Buffer.alloc(8000 * 4 * 2), 2],
    ['encoding=mulaw&sample_rate=8000', Buffer.alloc(8000 * 3, 0xff), 3],
    ['encoding=alaw&sample_rate=8000', Buffer.alloc(4000, 0xd5), 0.5],
    ['encoding=linear16&sample_rate=16000&channels=2', Buffer.alloc(16000 * 4), 1],
  ];
  for (const [query, audio, seconds] of cases) {
    const s = await session(server.url, `?${query}`);
    s.ws.send(audio);
    s.ws.send('{"type":"CloseStream"}');
    await s.closed;
    t.match(s.messages[s.messages.length - 1], { type: 'Metadata', duration: seconds }, query);
  }
});

t.test(
  'a plain PCM WAV is read without FFmpeg, so a live WAV is not held back; others still go through it',
  async (t) => {
    const server = await serve(t);
    const wav = readFileSync(fixture('speech.wav'));
    const s = await session(server.url);
    s.ws.send(wav.subarray(0, 40_000));
    await new Promise((r) => setTimeout(r, 200));
    t.equal(ffmpegChildren(), 0, 'no FFmpeg for a 16-bit PCM WAV');
    s.ws.send(wav.subarray(40_000));
    s.ws.send(JSON.stringify({ type: 'CloseStream' }));
    t.equal((await s.closed).code, 1000);
    t.match(s.messages[s.messages.length - 1], {
      type: 'Metadata',
      channels: 1,
      duration: 7.718313,
      sha256: sha256(wav),
    });
    const ogg = await session(server.url);
    ogg.ws.send(readFileSync(fixture('speech.ogg')).subarray(0, 8000));
    await new Promise((r) => setTimeout(r, 200));
    t.equal(ffmpegChildren(), 1, 'an Ogg is still decoded by FFmpeg');
    ogg.ws.terminate();
  },
);
