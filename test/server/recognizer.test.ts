import t from 'tap';
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createListenStream, type ListenQuery, type ResultsMessage, type ServerMessage } from '../../lib/index.js';
import { DEFAULT_WORDS, recognizerSettings } from '../../lib/server/recognizer.js';
import { rawDecoder, type Pcm } from '../../lib/server/pcm.js';
import { rawLayout } from '../../lib/protocol/options.js';
import { chunk, collector, finals, fixture, hiddenClasses, LINEAR16, serve, tones, words } from '../helpers.js';

async function transcribe(url: string, source: Buffer | string, query: ListenQuery = {}): Promise<ServerMessage[]> {
  const listen = createListenStream({ url, query });
  const sink = collector();
  const input = typeof source === 'string' ? createReadStream(source) : Readable.from(chunk(source));
  await pipeline(input, listen, sink);
  return sink.messages;
}

const results = (messages: ServerMessage[]) => messages.filter((m): m is ResultsMessage => m.type === 'Results');
const SCRIPT = readFileSync(fixture('speech.txt'), 'utf8');

t.test('words sit where the audio has speech, and nowhere else', async (t) => {
  const server = await serve(t);
  const messages = await transcribe(server.url, tones([1, 0.5, 1, 0.5]), LINEAR16);
  const all = finals(messages).flatMap((m) => m.channel.alternatives[0].words);
  t.ok(all.length >= 4);
  for (const w of all)
    t.ok((w.start >= 0 && w.end <= 1) || (w.start >= 1.5 && w.end <= 2.5), `${w.word} ${w.start}-${w.end}`);
  t.ok(
    all.every((w) => DEFAULT_WORDS.includes(w.word)),
    'words from the fixed list',
  );
  t.equal(new Set(all.map((w) => w.word)).size, 1, 'the same sound gives the same word');
  const speech = words(await transcribe(server.url, fixture('speech.wav')));
  t.ok(new Set(speech).size >= 5, `different sounds give different words: ${speech.join(' ')}`);
});

t.test('word text comes from the script, in order, on real speech', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const got = words(await transcribe(server.url, fixture('speech.wav')));
  const expected = SCRIPT.toLowerCase().replace(/[.,]/g, '').split(/\s+/).filter(Boolean);
  t.same(got, expected, 'every word of the script, none cut short');
});

t.test('a script longer than the speech found is placed whole, in order, within the audio', async (t) => {
  const server = await serve(t, { script: 'one two three four five six seven eight nine ten' });
  for (const pattern of [
    [0.4, 0.3, 0.4],
    [0.4, 0.3, 0.4, 1],
  ]) {
    // the stream ends in speech, or after silence
    const messages = await transcribe(server.url, tones(pattern), LINEAR16);
    t.same(words(messages), ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten']);
    const times = finals(messages).flatMap((m) => m.channel.alternatives[0].words.map((w) => [w.start, w.end]));
    const total = pattern.reduce((a, b) => a + b, 0);
    t.ok(
      times.every(
        ([start, end], i) => start < end && end <= total + 1e-9 && (i === 0 || start >= times[i - 1][1] - 1e-9),
      ),
      'each word has time, in order, inside the audio',
    );
  }
});

t.test('finals do not overlap and leave no gap', async (t) => {
  const server = await serve(t);
  const all = finals(await transcribe(server.url, fixture('speech.ogg'), { interim_results: true }));
  let end = 0;
  for (const f of all) {
    t.equal(f.start, end, `final at ${f.start} starts where the last ended`);
    end = Math.round((f.start + f.duration) * 1e6) / 1e6;
  }
  t.ok(Math.abs(end - 7.72) < 0.03, 'and they cover the whole audio');
});

t.test('interim results about once per second of audio', async (t) => {
  const server = await serve(t);
  const messages = await transcribe(server.url, tones([5]), { ...LINEAR16, interim_results: true, endpointing: false });
  const interims = results(messages).filter((m) => !m.is_final);
  t.same(
    interims.map((m) => m.start + m.duration),
    [1, 2, 3, 4],
    'one per second, each from the segment start',
  );
  t.match(finals(messages)[0], { start: 0, duration: 5 }, 'a segment of 5 s without an endpoint goes out as a final');
  const without = await transcribe(server.url, tones([5]), { ...LINEAR16, endpointing: false });
  t.notOk(
    results(without).some((m) => !m.is_final),
    'none without interim_results',
  );
});

t.test('speech_final after endpointing ms of silence, not before', async (t) => {
  const server = await serve(t);
  const audio = tones([1, 0.3, 1, 1]);
  const ends = (list: ResultsMessage[]) => list.map((m) => Math.round((m.start + m.duration) * 1e6) / 1e6);
  const long = results(await transcribe(server.url, audio, { ...LINEAR16, endpointing: 500 })).filter(
    (m) => m.speech_final,
  );
  t.same(ends(long), [2.8], 'only the 1 s pause ends an utterance with endpointing=500');
  const short = results(await transcribe(server.url, audio, { ...LINEAR16, endpointing: 100 })).filter(
    (m) => m.speech_final,
  );
  t.same(ends(short), [1.1, 2.4], 'both pauses with endpointing=100');
});

t.test('from_finalize answers Finalize', async (t) => {
  const server = await serve(t);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  const sink = collector();
  const done = pipeline(listen, sink);
  listen.write(tones([2]));
  listen.finalize();
  listen.end();
  await done;
  const answered = results(sink.messages).filter((m) => m.from_finalize);
  t.equal(answered.length, 1);
  t.match(answered[0], { is_final: true, start: 0, duration: 2 });
});

t.test('SpeechStarted with vad_events; UtteranceEnd with utterance_end_ms', async (t) => {
  const server = await serve(t);
  const messages = await transcribe(server.url, tones([1, 1.5, 1, 0.5]), {
    ...LINEAR16,
    vad_events: true,
    interim_results: true,
    utterance_end_ms: 1000,
  });
  t.same(
    messages.filter((m) => m.type === 'SpeechStarted'),
    [
      { type: 'SpeechStarted', channel: [0, 1], timestamp: 0 },
      { type: 'SpeechStarted', channel: [0, 1], timestamp: 2.5 },
    ],
  );
  t.same(
    messages.filter((m) => m.type === 'UtteranceEnd'),
    [{ type: 'UtteranceEnd', channel: [0, 1], last_word_end: 1 }],
    'one after the 1.5 s gap; the last 0.5 s of silence is too short',
  );
  const quiet = await transcribe(server.url, tones([1, 1.5, 1]), LINEAR16);
  t.notOk(
    quiet.some((m) => m.type === 'SpeechStarted' || m.type === 'UtteranceEnd'),
    'neither unless asked for',
  );
});

t.test('multichannel: one Results per channel, each with its own speech', async (t) => {
  const server = await serve(t);
  const messages = await transcribe(server.url, fixture('stereo.wav'), { multichannel: true });
  const byChannel = [0, 1].map((c) => finals(messages).filter((m) => m.channel_index[0] === c));
  t.ok(byChannel.every((list) => list.every((m) => m.channel_index[1] === 2)));
  const left = byChannel[0].flatMap((m) => m.channel.alternatives[0].words);
  const right = byChannel[1].flatMap((m) => m.channel.alternatives[0].words);
  t.ok(left.length > 0 && right.length > 0);
  t.ok(
    left.every((w) => w.end <= 2.5),
    'the left channel speaks first',
  );
  t.ok(
    right.every((w) => w.start >= 2.5),
    'the right channel answers after 2.5 s',
  );
  const mixed = await transcribe(server.url, fixture('stereo.wav'));
  t.ok(
    results(mixed).every((m) => m.channel_index[0] === 0 && m.channel_index[1] === 1),
    'mixed to one channel otherwise',
  );
});

t.test('diarize gives each word a speaker; punctuate and smart_format give punctuated_word', async (t) => {
  const server = await serve(t);
  const diarized = finals(
    await transcribe(server.url, tones([1, 1, 1, 1]), { ...LINEAR16, diarize: true, endpointing: 300 }),
  );
  const speakers = diarized.flatMap((m) => m.channel.alternatives[0].words.map((w) => w.speaker));
  t.ok(speakers.includes(0) && speakers.includes(1), `speakers ${[...new Set(speakers)]}`);
  for (const option of ['punctuate', 'smart_format'] as const) {
    const punctuated = finals(await transcribe(server.url, tones([1, 0.5]), { ...LINEAR16, [option]: true }));
    const first = punctuated[0].channel.alternatives[0];
    const word = first.words[0].word;
    t.equal(first.words[0].punctuated_word, word[0].toUpperCase() + word.slice(1), `${option}: a capital to start`);
    t.match(first.transcript, /^[A-Z].*\.$/, 'a full stop to end');
  }
  const plain = finals(await transcribe(server.url, tones([1, 0.5]), LINEAR16));
  t.notOk('punctuated_word' in plain[0].channel.alternatives[0].words[0]);
});

t.test('the same audio always gives the same messages', async (t) => {
  const server = await serve(t);
  const strip = (messages: ServerMessage[]) => JSON.stringify(messages).replace(/"(request_id|created)":"[^"]*"/g, '');
  const query = { interim_results: true, vad_events: true, utterance_end_ms: 1000, punctuate: true };
  const a = await transcribe(server.url, fixture('speech.webm'), query);
  const b = await transcribe(server.url, fixture('speech.webm'), query);
  t.equal(strip(a), strip(b));
});

t.test('ingestion is throttled to the real-time factor', async (t) => {
  const server = await serve(t, { realtimeFactor: 4 });
  const started = performance.now();
  await transcribe(server.url, tones([4]), LINEAR16);
  const elapsed = performance.now() - started;
  // 4 s of audio at 4x, less the 0.5 s burst and the last 0.1 s chunk: at least 850 ms.
  // A lower bound only, so a slow machine cannot fail it.
  t.ok(elapsed >= 840, `${Math.round(elapsed)} ms for 4 s of audio at 4x`);
});

t.test(
  "each session's settings and each frame's samples share one hidden class, read as they are on every frame",
  async (t) => {
    const params = new URLSearchParams('encoding=linear16&sample_rate=16000&interim_results=true');
    const given = { channels: 1, script: undefined, resultsMetadata: undefined as never };
    t.equal(hiddenClasses(Array.from({ length: 50 }, () => recognizerSettings(params, given))), 1);
    const frames: Pcm[] = [];
    const events = { onPcm: (pcm: Pcm) => frames.push(pcm), onEnd() {}, onError() {}, onFull() {}, onDrain() {} };
    const layout = rawLayout({ encoding: 'linear16', sample_rate: 16000 })!;
    for (let i = 0; i < 20; i++) rawDecoder(layout, events).write(tones([0.02]));
    t.equal(frames.length, 20);
    t.equal(hiddenClasses(frames), 1);
  },
);
