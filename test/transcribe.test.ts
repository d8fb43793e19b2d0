import t from 'tap';
import { once } from 'node:events';
import { createReadStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createTranscriber, type SentFormat } from '../lib/index.js';
import { collector, ffmpegChildren, fixture, serve, words } from './helpers.js';

const SCRIPT = readFileSync(fixture('speech.txt'), 'utf8');
const SCRIPT_WORDS = SCRIPT.toLowerCase().replace(/[.,]/g, '').split(/\s+/);

t.test('every fixture, end to end: the right words, the query set from what is really sent', async (t) => {
  const queries: URLSearchParams[] = [];
  const server = await serve(t, { script: (request) => (queries.push(new URL(request.url!, 'http://x').searchParams), SCRIPT) });
  const expected: Record<string, SentFormat> = {
    'speech.wav': { container: 'wav' }, 'speech.mp3': { container: 'mp3' }, 'speech.ogg': { container: 'ogg' },
    'speech.webm': { container: 'webm' }, 'speech.flac': { container: 'flac' },
    'speech.m4a': { encoding: 'linear16', sample_rate: 16000, channels: 1 },
  };
  for (const [name, format] of Object.entries(expected)) {
    const transcriber = createTranscriber({ url: server.url });
    let sent: SentFormat | undefined;
    let metadata = 0;
    transcriber.on('format', (f) => (sent = f));
    transcriber.on('metadata', (m) => (metadata = m.duration));
    const sink = collector();
    await pipeline(createReadStream(fixture(name)), transcriber, sink);
    t.same(sent, format, `${name} is sent as ${JSON.stringify(format)}`);
    const query = queries[queries.length - 1];
    t.equal(query.get('encoding'), format.encoding ?? null, `${name}: encoding on the wire`);
    t.equal(query.get('sample_rate'), format.sample_rate ? String(format.sample_rate) : null);
    const got = words(sink.messages);
    t.ok(got.length >= 10, `${name}: ${got.length} words`);
    t.same(got, SCRIPT_WORDS.slice(0, got.length), `${name}: the script's words, in order`);
    t.ok(Math.abs(metadata - 7.73) < 0.05, `${name}: metadata event with the duration (${metadata})`);
    t.equal(sink.messages[sink.messages.length - 1].type, 'Metadata');
  }
});

t.test('decode: always sends linear16 even for containers Deepgram reads', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const transcriber = createTranscriber({ url: server.url, decode: 'always', sampleRate: 8000 });
  const formats: SentFormat[] = [];
  transcriber.on('format', (f) => formats.push(f));
  const sink = collector();
  await pipeline(createReadStream(fixture('speech.ogg')), transcriber, sink);
  t.same(formats, [{ encoding: 'linear16', sample_rate: 8000, channels: 1 }]);
  t.ok(words(sink.messages).length >= 10);
});

t.test('raw input is sent as declared; pace plays a file like a live source', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const raw = createTranscriber({ url: server.url, raw: { encoding: 'linear16', sample_rate: 16000 } });
  const sink = collector();
  await pipeline(createReadStream(fixture('speech.raw')), raw, sink);
  t.ok(words(sink.messages).length >= 10);

  const paced = createTranscriber({ url: server.url, pace: 20 });
  const started = performance.now();
  await pipeline(createReadStream(fixture('speech.wav')), paced, collector());
  // 7.7 s of audio at 20x is at least 380 ms; a lower bound only.
  t.ok(performance.now() - started >= 370, 'paced at 20x real time');
});

t.test('multichannel decoding keeps the channels apart', async (t) => {
  const server = await serve(t);
  const transcriber = createTranscriber({ url: server.url, decode: 'always', channels: 2, query: { multichannel: true } });
  const sink = collector();
  await pipeline(createReadStream(fixture('stereo.wav')), transcriber, sink);
  const channels = new Set(sink.messages.filter((m) => m.type === 'Results').map((m) => (m as { channel_index: number[] }).channel_index.join('/')));
  t.same([...channels].sort(), ['0/2', '1/2']);
});

t.test('listen options refused while decoding: a stream error, and no FFmpeg left running', async (t) => {
  for (const options of [{ decode: 'always' as const }, { pace: 10 }]) {
    const transcriber = createTranscriber({ url: 'ws://127.0.0.1:1', ...options, query: { utterance_end_ms: 1000 } });
    const [error] = await once(transcriber, 'error');
    t.match(error, { code: 'DG_OPTIONS', message: /needs interim_results=true/ });
  }
  await t.rejects(pipeline(createReadStream(fixture('speech.m4a')), createTranscriber({ url: 'ws://127.0.0.1:1', query: { utterance_end_ms: 1000 } }), collector()),
    { code: 'DG_OPTIONS' }, 'the same when the probe finds audio that needs decoding');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(ffmpegChildren(), 0);
});

t.test('errors travel through pipeline(): bad options, a refused key, undecodable input', async (t) => {
  t.throws(() => createTranscriber({ query: { encoding: 'linear16' } as never }), { code: 'DG_OPTIONS', message: /set from the audio/ });
  const server = await serve(t, { apiKey: 'k' });
  await t.rejects(pipeline(createReadStream(fixture('speech.wav')), createTranscriber({ url: server.url, apiKey: 'no' }), collector()),
    { code: 'DG_HANDSHAKE', status: 401 });
  const open = await serve(t);
  await t.rejects(pipeline(createReadStream(fixture('speech.txt')), createTranscriber({ url: open.url }), collector()),
    { message: /FFmpeg could not decode the input/ });
});
