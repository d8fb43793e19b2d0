import t from 'tap';
import { once } from 'node:events';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Duplex, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerMessage } from '../lib/index.js';
import { createDecoder, createTranscriber, type SentFormat } from '../lib/audio/index.js';
import { parseWavHeader } from '../lib/audio/wav.js';
import { collector, ffmpegChildren, fixture, serve, until, words } from './helpers.js';

const SCRIPT = readFileSync(fixture('speech.txt'), 'utf8');
const SCRIPT_WORDS = SCRIPT.toLowerCase().replace(/[.,]/g, '').split(/\s+/);

t.test('every fixture, end to end: the right words, the query set from what is really sent', async (t) => {
  const queries: URLSearchParams[] = [];
  const server = await serve(t, {
    script: (request) => (queries.push(new URL(request.url!, 'http://x').searchParams), SCRIPT),
  });
  const expected: Record<string, SentFormat> = {
    'speech.wav': { container: 'wav' },
    'speech.mp3': { container: 'mp3' },
    'speech.ogg': { container: 'ogg' },
    'speech.webm': { container: 'webm' },
    'speech.flac': { container: 'flac' },
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
  const transcriber = createTranscriber({
    url: server.url,
    decode: 'always',
    channels: 2,
    query: { multichannel: true },
  });
  const sink = collector();
  await pipeline(createReadStream(fixture('stereo.wav')), transcriber, sink);
  const channels = new Set(
    sink.messages
      .filter((m) => m.type === 'Results')
      .map((m) => (m as { channel_index: number[] }).channel_index.join('/')),
  );
  t.same([...channels].sort(), ['0/2', '1/2']);
});

t.test('listen options refused while decoding: a stream error, and no FFmpeg left running', async (t) => {
  for (const options of [{ decode: 'always' as const }, { pace: 10 }]) {
    const transcriber = createTranscriber({ url: 'ws://127.0.0.1:1', ...options, query: { utterance_end_ms: 1000 } });
    const [error] = await once(transcriber, 'error');
    t.match(error, { code: 'DG_OPTIONS', message: /needs interim_results=true/ });
  }
  await t.rejects(
    pipeline(
      createReadStream(fixture('speech.m4a')),
      createTranscriber({ url: 'ws://127.0.0.1:1', query: { utterance_end_ms: 1000 } }),
      collector(),
    ),
    { code: 'DG_OPTIONS' },
    'the same when the probe finds audio that needs decoding',
  );
  await new Promise((r) => setTimeout(r, 100));
  t.equal(ffmpegChildren(), 0);
});

t.test('errors travel through pipeline(): bad options, a refused key, undecodable input', async (t) => {
  t.throws(() => createTranscriber({ query: { encoding: 'linear16' } as never }), {
    code: 'DG_OPTIONS',
    message: /set from the audio/,
  });
  const server = await serve(t, { apiKey: 'k' });
  await t.rejects(
    pipeline(
      createReadStream(fixture('speech.wav')),
      createTranscriber({ url: server.url, apiKey: 'no' }),
      collector(),
    ),
    { code: 'DG_HANDSHAKE', status: 401 },
  );
  const open = await serve(t);
  await t.rejects(
    pipeline(createReadStream(fixture('speech.txt')), createTranscriber({ url: open.url }), collector()),
    { message: /FFmpeg could not decode the input/ },
  );
});

/** Folders the spool stage left in the temporary folder. */
const spoolDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('deepgram-stream-')).length;

t.test(
  "an MP4 with its index at the end (FFmpeg's and phones' default) is decoded from a temporary file",
  async (t) => {
    const server = await serve(t, { script: SCRIPT });
    const before = spoolDirs();
    for (const name of ['speech-index-at-end.m4a', 'speech-index-at-end.mp4']) {
      const transcriber = createTranscriber({ url: server.url });
      const sink = collector();
      await pipeline(createReadStream(fixture(name)), transcriber, sink);
      t.same(words(sink.messages), SCRIPT_WORDS.slice(0, words(sink.messages).length), `${name}: the script's words`);
      t.ok(words(sink.messages).length >= 10, `${name}: ${words(sink.messages).length} words`);
    }
    t.equal(spoolDirs(), before, 'no temporary file left behind');
    const bounded = createTranscriber({ url: server.url, spoolLimit: 10_000 });
    await t.rejects(
      pipeline(createReadStream(fixture('speech-index-at-end.m4a')), bounded, collector()),
      /index \(moov\) at the end.*larger than the 10000 bytes allowed/,
    );
    t.equal(spoolDirs(), before, 'nor after a refusal');
  },
);

t.test('no audio is an error, never an empty success: an empty input, a WAV header alone', async (t) => {
  const server = await serve(t);
  const empty = () => Readable.from([]);
  for (const options of [
    {},
    { decode: 'always' as const },
    { raw: { encoding: 'linear16' as const, sample_rate: 16000 } },
  ]) {
    await t.rejects(
      pipeline(empty(), createTranscriber({ url: server.url, ...options }), collector()),
      { code: 'DG_NO_AUDIO', message: /the input is empty \(0 bytes\)/ },
      `empty input, ${JSON.stringify(options)}`,
    );
  }
  const wav = readFileSync(fixture('speech.wav'));
  const header = wav.subarray(0, parseWavHeader(wav)!.dataOffset);
  await t.rejects(pipeline(Readable.from([header]), createTranscriber({ url: server.url }), collector()), {
    code: 'DG_NO_AUDIO',
    message: /holds no audio/,
  });
});

t.test("a decoder that makes no audio from input that was not empty fails in FFmpeg's words", async (t) => {
  const error = await pipeline(createReadStream(fixture('speech-index-at-end.m4a')), createDecoder(), collector()).then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(error?.message, /FFmpeg decoded no audio from 53421 bytes of input: .*(Invalid data|Output file is empty)/);
});

t.test('destroying the transcriber, or a failing stage after it, ends its session and its FFmpeg', async (t) => {
  const server = await serve(t, { realtimeFactor: 1 }); // sessions last as long as the audio
  const ended = async () => {
    for (let i = 0; i < 150 && (server.connections > 0 || ffmpegChildren() > 0); i++) await sleep(20);
    return { connections: server.connections, ffmpeg: ffmpegChildren() };
  };
  for (const name of ['speech.wav', 'speech.m4a']) {
    const destroyed = createTranscriber({ url: server.url });
    createReadStream(fixture(name)).pipe(destroyed).resume();
    await once(destroyed, 'format');
    await until(() => server.connections > 0, 'the session under way'); // audio is flowing: now tear it down
    destroyed.destroy();
    t.same(await ended(), { connections: 0, ffmpeg: 0 }, `${name}: destroy() ends the session`);
    const failing = new Writable({ objectMode: true, write: (_m, _e, done) => done(new Error('the sink failed')) });
    await t.rejects(
      pipeline(createReadStream(fixture(name)), createTranscriber({ url: server.url }), failing),
      /the sink failed/,
    );
    t.same(await ended(), { connections: 0, ffmpeg: 0 }, `${name}: so does a stage after it failing`);
  }
});

t.test('the transcriber is a node:stream Duplex: instanceof, and the stream helpers work', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const transcriber = createTranscriber({ url: server.url });
  t.ok(transcriber instanceof Duplex, 'instanceof Duplex');
  createReadStream(fixture('speech.ogg')).pipe(transcriber);
  const messages: ServerMessage[] = await transcriber.toArray();
  t.equal(messages.at(-1)?.type, 'Metadata', 'toArray() gives every message');
  t.same(words(messages), SCRIPT_WORDS.filter(Boolean));
  const finals = await createReadStream(fixture('speech.flac'))
    .pipe(createTranscriber({ url: server.url }))
    .filter((m: ServerMessage) => m.type === 'Results')
    .map((m: ServerMessage) => m.type)
    .toArray();
  t.ok(finals.length > 3, `filter() and map() too (${finals.length} Results)`);
});

t.test(
  'a session that fails after every byte was written still fails the pipeline: no hang, no stray error',
  async (t) => {
    // The server drops the connection once audio arrives, by when the client has handed over the whole file.
    const dead = await serve(t, { faults: { dropAfterBytes: 1 } });
    await t.rejects(
      pipeline(createReadStream(fixture('speech.wav')), createTranscriber({ url: dead.url }), collector()),
      { code: 'DG_CLOSE', closeCode: 1006 },
    );
  },
);
