import t from 'tap';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import WebSocket, { WebSocketServer } from 'ws';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createListenStream, type ListenQuery, type ResultsMessage, type ServerMessage } from '../../lib/index.js';
import type { Faults, SessionReport } from '../../lib/server/index.js';
import { createPacer } from '../../lib/audio/pacer.js';
import { rebase, ReplayBuffer } from '../../lib/listen/replay.js';
import {
  chunk,
  collector,
  finals,
  fixture,
  LINEAR16,
  longFixture,
  readAll,
  seeded,
  serve,
  sha256,
  tones,
} from '../helpers.js';

/** 40 s of speech-like audio: tones of varied length and loudness between pauses. */
const AUDIO = tones(
  Array.from({ length: 80 }, (_, i) => 0.2 + ((i * 37) % 11) / 10),
  6000,
);
const RECONNECT = { attempts: 3, backoff: { initial: 10, max: 50 } };

/** Finals as [start, duration, speech_final, words with times]: what must survive any drop unchanged. */
const timeline = (messages: ServerMessage[]) =>
  finals(messages).map((f: ResultsMessage) => [
    f.start,
    f.duration,
    f.speech_final,
    f.channel.alternatives[0].words.map((w) => `${w.word}@${w.start}-${w.end}`).join(' '),
  ]);

async function run(
  source: () => Readable,
  query: ListenQuery,
  faults?: (index: number) => Faults | undefined,
  onSession?: (report: SessionReport) => void,
) {
  const t0 = { reconnects: 0 };
  const server = await import('../../lib/server/index.js').then((m) =>
    m.startServer({
      realtimeFactor: false,
      faults: faults && (({ index }) => faults(index)),
      onSession,
    }),
  );
  try {
    const listen = createListenStream({ url: server.url, query, reconnect: RECONNECT });
    listen.on('reconnect', () => t0.reconnects++);
    const sink = collector();
    await pipeline(source(), listen, sink);
    return { messages: sink.messages, reconnects: t0.reconnects, metadata: listen.metadata! };
  } finally {
    await server.close();
  }
}

// Each test has its own servers: they run side by side.
t.jobs = 3;

t.test('raw audio: drops at several points give the same finals, words and times as no drop', async (t) => {
  const source = () => Readable.from(chunk(AUDIO, 6400));
  const clean = await run(source, LINEAR16);
  t.ok(finals(clean.messages).length > 40);
  // Drop points drawn at random (seeded, so every run draws the same), plus a drop before any audio.
  const next = seeded(20261125);
  const draw = () => 1 + Math.floor(next() * 900_000);
  for (const drops of [[draw()], [draw(), draw()], [1, draw(), draw()]]) {
    const faulty = await run(source, LINEAR16, (i) =>
      drops[i] === undefined ? undefined : { dropAfterBytes: drops[i] },
    );
    t.equal(faulty.reconnects, drops.length, `${drops.length} reconnect(s) after drops at ${drops}`);
    t.same(timeline(faulty.messages), timeline(clean.messages), 'no final duplicated, missing or moved');
    t.equal(faulty.metadata.duration, clean.metadata.duration, 'metadata covers the whole stream');
    t.equal(faulty.metadata.sha256, sha256(AUDIO), 'and hashes every byte of it');
  }
});

t.test('WAV: the header is sent again, and the timeline continues', async (t) => {
  const source = () => createReadStream(fixture('speech.wav'), { highWaterMark: 8192 });
  const clean = await run(source, {});
  const faulty = await run(source, {}, (i) => (i < 2 ? { dropAfterBytes: 60_000 } : undefined));
  t.equal(faulty.reconnects, 2);
  t.same(timeline(faulty.messages), timeline(clean.messages));
  t.equal(faulty.metadata.duration, clean.metadata.duration);
});

t.test('a container that cannot be cut by time is replayed whole, and what repeats is dropped', async (t) => {
  const source = () => createReadStream(fixture('speech.ogg'), { highWaterMark: 2048 });
  const clean = await run(source, { interim_results: true, vad_events: true });
  const faulty = await run(source, { interim_results: true, vad_events: true }, (i) =>
    i === 0 ? { dropAfterBytes: 12_000 } : undefined,
  );
  t.equal(faulty.reconnects, 1);
  t.same(timeline(faulty.messages), timeline(clean.messages));
  const starts = faulty.messages
    .filter((m) => m.type === 'SpeechStarted')
    .map((m) => (m as { timestamp: number }).timestamp);
  t.same(
    starts,
    [...starts].sort((a, b) => a - b),
    'SpeechStarted stays in order',
  );
});

for (const format of ['webm', 'ogg', 'mp3', 'flac']) {
  t.test(`${format}: a drop at 75% replays from the last cut point, and the transcript is a clean run's`, async (t) => {
    const file = longFixture(format);
    const size = statSync(file).size;
    // A live source at 40x real time: at full speed the local server's FFmpeg pipe alone holds ~80 KB of audio it
    // has received but not yet decoded (~25 s of 24 kbit/s Opus), which a live session never piles up.
    const bytesPerSecond = size / 92.6;
    const paced = () =>
      createReadStream(file, { highWaterMark: 4096 }).pipe(createPacer({ bytesPerSecond, speed: 40 }));
    const sessions: SessionReport[] = [];
    // A session is reported once its socket has closed, which may come after the stream has ended.
    let report: (r: SessionReport) => void = () => {};
    const both = new Promise<void>((resolve) => (report = (r) => sessions.push(r) === 2 && resolve()));
    const clean = await run(() => createReadStream(file), {});
    const drop = (i: number) => (i === 0 ? { dropAfterBytes: Math.round(size * 0.75) } : undefined);
    const faulty = await run(paced, {}, drop, (r) => report(r));
    await both;
    t.equal(faulty.reconnects, 1);
    const carried = sessions[1].bytes / size;
    t.ok(carried < 0.45, `the new connection carried ${(carried * 100).toFixed(1)}% of the file`);
    t.ok(finals(clean.messages).length > 30);
    t.same(timeline(faulty.messages), timeline(clean.messages), 'the same finals, words and times');
    t.equal(faulty.metadata.sha256, sha256(readFileSync(file)), 'the metadata hashes every byte');
  });
}

t.test('a caller that reuses one buffer: what was written is replayed, not what the buffer holds now', async (t) => {
  const clean = await run(() => Readable.from(chunk(AUDIO, 6400)), LINEAR16);
  const server = await serve(t, { faults: ({ index }) => (index === 0 ? { dropAfterBytes: 5 * 32000 } : undefined) });
  const listen = createListenStream({ url: server.url, query: LINEAR16, reconnect: RECONNECT });
  let reconnects = 0;
  listen.on('reconnect', () => reconnects++);
  const sink = collector();
  const done = pipeline(listen, sink);
  const reused = Buffer.alloc(6400);
  for (const piece of chunk(AUDIO, 6400)) {
    const filled = reused.subarray(0, piece.copy(reused));
    // The buffer is refilled as soon as its write has completed, as a capture library's would be.
    await new Promise<void>((resolve, reject) => listen.write(filled, (error) => (error ? reject(error) : resolve())));
  }
  listen.end();
  await done;
  t.equal(reconnects, 1);
  t.same(timeline(sink.messages), timeline(clean.messages));
});

t.test('every timestamp stays monotonic: Results, words, SpeechStarted, UtteranceEnd', async (t) => {
  const query = { ...LINEAR16, interim_results: true, vad_events: true, utterance_end_ms: 1000 };
  const faulty = await run(
    () => Readable.from(chunk(AUDIO, 6400)),
    query,
    (i) => (i < 3 ? { dropAfterBytes: 200_000 } : undefined),
  );
  t.equal(faulty.reconnects, 3);
  let end = 0;
  for (const f of finals(faulty.messages)) {
    t.equal(f.start, end, 'finals continue where the last ended');
    end = Math.round((f.start + f.duration) * 1e6) / 1e6;
  }
  t.equal(end, AUDIO.length / 32000, 'to the end of the audio');
  const times = faulty.messages.flatMap((m) =>
    m.type === 'SpeechStarted'
      ? [(m as { timestamp: number }).timestamp]
      : m.type === 'UtteranceEnd'
        ? [(m as { last_word_end: number }).last_word_end]
        : [],
  );
  t.ok(times.length > 10);
  t.ok(Math.max(...times) > 30, 'events late in the stream carry stream time, not session time');
});

t.test('1011 NET-0000 is reconnected too', async (t) => {
  const slow = () =>
    Readable.from(
      (async function* () {
        for (const c of chunk(tones([1, 0.5, 1, 0.5]), 3200)) {
          yield c;
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
    );
  const clean = await run(slow, LINEAR16);
  const faulty = await run(slow, LINEAR16, (i) => (i === 0 ? { net0000AfterMs: 60 } : undefined));
  t.equal(faulty.reconnects, 1);
  t.same(timeline(faulty.messages), timeline(clean.messages));
});

t.test('never on 1008; never on a 4xx handshake; not past the attempts', async (t) => {
  const server = await serve(t);
  const bad = createListenStream({ url: server.url, reconnect: RECONNECT });
  bad.resume();
  bad.end(Buffer.from('not audio at all '.repeat(100)));
  const [dataError] = await once(bad, 'error');
  t.equal(dataError.closeCode, 1008, '1008 fails at once');

  const busy = await serve(t, {
    maxConnections: 1,
    faults: ({ index }) => (index === 0 ? { dropAfterBytes: 1 } : undefined),
  });
  const listen = createListenStream({
    url: busy.url,
    query: LINEAR16,
    reconnect: { attempts: 5, backoff: { initial: 100, max: 100 } },
  });
  listen.resume();
  listen.on('reconnect', () => {
    const squatter = new WebSocket(`${busy.url}/v1/listen`);
    squatter.on('error', () => {});
    t.teardown(() => squatter.terminate());
  });
  listen.write(tones([0.5]));
  const [refused] = await once(listen, 'error');
  t.equal(refused.code, 'DG_HANDSHAKE');
  t.equal(refused.status, 429, 'a 429 while reconnecting is final');

  const dropping = await serve(t, { faults: { dropAfterBytes: 1 } });
  const doomed = createListenStream({
    url: dropping.url,
    query: LINEAR16,
    reconnect: { attempts: 2, backoff: { initial: 1, max: 1 } },
  });
  let tries = 0;
  doomed.on('reconnect', () => tries++);
  doomed.resume();
  doomed.write(tones([0.5]));
  const [gaveUp] = await once(doomed, 'error');
  t.equal(tries, 2);
  t.match(gaveUp.message, /2 reconnects failed/);
});

t.test('the replay buffer keeps only audio not yet covered by finals', async (t) => {
  const raw = new ReplayBuffer(new URLSearchParams('encoding=linear16&sample_rate=16000&channels=2'));
  for (let i = 0; i < 10; i++) raw.add(Buffer.alloc(6400)); // 1 s of stereo linear16
  t.equal(raw.size, 64000);
  raw.cover(0.25);
  t.equal(raw.size, 48000, 'trimmed to the sample frame');
  const { chunks, offset } = raw.replay();
  t.equal(offset, 0.25);
  t.equal(Buffer.concat(chunks).length, 48000);
  raw.cover(1);
  t.equal(raw.size, 0);

  const wav = new ReplayBuffer(new URLSearchParams());
  const bytes = readFileSync(fixture('speech.wav'));
  for (let i = 0; i < bytes.length; i += 10) wav.add(bytes.subarray(i, i + 10)); // the header arrives in pieces
  wav.cover(5);
  const replay = wav.replay();
  t.equal(replay.offset, 5);
  t.equal(replay.chunks[0].toString('latin1', 0, 4), 'RIFF', 'the header goes first');
  t.equal(Buffer.concat(replay.chunks).length, 44 + bytes.length - 44 - 5 * 32000);

  const ogg = new ReplayBuffer(new URLSearchParams());
  const oggBytes = readFileSync(fixture('speech.ogg'));
  ogg.add(oggBytes);
  ogg.cover(3.5);
  const cut = ogg.replay();
  t.ok(cut.offset > 2.4 && cut.offset <= 3.5, `cut at the last page by 3.5 s (${cut.offset})`);
  t.equal(cut.duplicatesUntil, 3.5, 'what the new session says again up to there is dropped');
  t.match(cut.chunks[0].toString('latin1'), /^OggS[^]*OpusHead[^]*OpusTags/, 'the header pages go first');
  t.ok(Buffer.concat(cut.chunks).length < oggBytes.length * 0.6);

  const m4a = new ReplayBuffer(new URLSearchParams());
  const m4aBytes = readFileSync(fixture('speech.m4a'));
  m4a.add(m4aBytes);
  m4a.cover(3);
  t.same(m4a.replay(), { chunks: [m4aBytes], offset: 0, duplicatesUntil: 3 }, 'a container not cut is kept whole');
});

t.test('rebase moves every timestamp', async (t) => {
  const results = {
    type: 'Results',
    start: 1,
    duration: 2,
    channel: { alternatives: [{ words: [{ start: 1.5, end: 2 }] }] },
  };
  t.match(rebase(results as never, 10), {
    start: 11,
    duration: 2,
    channel: { alternatives: [{ words: [{ start: 11.5, end: 12 }] }] },
  });
  t.match(rebase({ type: 'SpeechStarted', timestamp: 1 } as never, 2.5), { timestamp: 3.5 });
  t.match(rebase({ type: 'UtteranceEnd', last_word_end: 1 } as never, 2.5), { last_word_end: 3.5 });
});

t.test('a 5xx or a silent server while reconnecting is tried again, once per failure', async (t) => {
  // connection 0 drops after the first audio; 1 is refused with 503; 2 never answers the upgrade; 3 works.
  let index = 0;
  const http = createHttpServer();
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (request, socket, head) => {
    const n = index++;
    if (n === 1) return socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n');
    if (n === 2) return; // silent: the connect timeout must fire
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary && n === 0) return socket.destroy();
        if (!isBinary && data.toString().includes('CloseStream')) {
          ws.send(JSON.stringify({ type: 'Metadata', duration: 1, sha256: 'x', channels: 1 }));
          ws.close(1000);
        }
      });
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.teardown(() => {
    http.closeAllConnections();
    http.close();
  });
  const listen = createListenStream({
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`,
    query: LINEAR16,
    connectTimeout: 300,
    reconnect: { attempts: 5, backoff: { initial: 10, max: 10 } },
  });
  const reconnects: string[] = [];
  listen.on('reconnect', (e) => reconnects.push(`${e.attempt} ${e.code} ${e.reason}`));
  listen.end(tones([0.5]));
  const messages = await readAll(listen);
  t.same(
    reconnects,
    ['1 1006 ', '2 1006 handshake answered 503', '3 1006 no upgrade within 300 ms'],
    'one retry for the drop, one for the 503, one for the silence: each failure retried once',
  );
  t.equal(index, 4, 'and no connection more');
  t.equal(messages[messages.length - 1].type, 'Metadata', 'then the session ended normally');
  t.equal(listen.metadata?.sha256, sha256(tones([0.5])), 'with every byte replayed');
});

t.test(
  'a server that answers and then drops every time: attempts run out, since only a new final resets them',
  async (t) => {
    // Each session sends Metadata and closes with 1011 NET-0000, as Deepgram does. Code that never gives up is
    // stopped at the 20th reconnect, so this test fails instead of hanging.
    const server = await serve(t, { faults: { net0000AfterMs: 20 } });
    let connections = 0;
    const listen = createListenStream({
      url: server.url,
      query: LINEAR16,
      reconnect: { attempts: 5, backoff: { initial: 1, max: 1 } },
    });
    listen.on('reconnect', () => {
      if (++connections === 20) listen.destroy(new Error('it never gave up'));
    });
    listen.write(tones([0.2]));
    listen.resume();
    const [error] = await once(listen, 'error');
    t.equal(connections, 5, 'five reconnects, then it gave up');
    t.match(error.message, /1011 .*and 5 reconnects failed/);
  },
);

t.test('WAV is cut only when its header is consistent PCM; anything else is replayed whole', async (t) => {
  const { ffmpegCommand } = await import('../../lib/audio/ffmpeg.js');
  const adpcm = execFileSync(
    ffmpegCommand(),
    ['-hide_banner', '-loglevel', 'error', '-i', fixture('speech.wav'), '-acodec', 'adpcm_ms', '-f', 'wav', 'pipe:1'],
    { maxBuffer: 1 << 26 },
  );
  const source = () => Readable.from(chunk(adpcm, 4096));
  const clean = await run(source, {});
  const faulty = await run(source, {}, (i) => (i === 0 ? { dropAfterBytes: 40_000 } : undefined));
  t.equal(faulty.reconnects, 1);
  t.same(timeline(faulty.messages), timeline(clean.messages), 'ADPCM: every word, none lost to a cut by byte rate');

  const broken = Buffer.from(readFileSync(fixture('speech.wav')));
  broken.writeUInt32LE(0, 28); // byteRate 0
  const replay = new ReplayBuffer(new URLSearchParams());
  replay.add(broken);
  replay.cover(2);
  t.same(replay.replay(), { chunks: [broken], offset: 0, duplicatesUntil: 2 }, 'byteRate 0: kept whole, no NaN offset');
});

t.test(
  'the replay buffer is bounded: past replayLimit, a drop is a clear error instead of a growing buffer',
  async (t) => {
    const buffer = new ReplayBuffer(new URLSearchParams('encoding=linear16&sample_rate=16000'), 10_000);
    buffer.add(Buffer.alloc(6000));
    t.notOk(buffer.overflow);
    buffer.add(Buffer.alloc(6000));
    t.match(buffer.overflow, /outgrew the replay limit of 10000 bytes/);
    t.equal(buffer.size, 0, 'and lets go of what it held');

    const server = await serve(t, { faults: ({ index }) => (index === 0 ? { dropAfterBytes: 96_000 } : undefined) });
    const listen = createListenStream({
      url: server.url,
      query: { ...LINEAR16, endpointing: false },
      reconnect: { ...RECONNECT, replayLimit: 64_000 },
    });
    listen.resume();
    listen.write(tones([5]));
    const [error] = await once(listen, 'error');
    t.equal(error.closeCode, 1006);
    t.match(error.message, /no reconnect was made \(the audio not yet covered by finals outgrew .*replayLimit\)/);
  },
);
