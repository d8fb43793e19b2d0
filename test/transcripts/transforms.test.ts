import t from 'tap';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { Readable, Writable, type Duplex, type Transform } from 'node:stream';
import type { Test } from 'tap';
import { pipeline } from 'node:stream/promises';
import {
  channelFilter,
  finalsOnly,
  fromNdjson,
  splitChannels,
  toNdjson,
  toSrt,
  toText,
  toVtt,
  utterances,
  type ResultsMessage,
  type ServerMessage,
  type Utterance,
  type Word,
} from '../../lib/index.js';
import { createTranscriber } from '../../lib/audio/index.js';
import { collector, fixture, readAll, serve } from '../helpers.js';

const SAVED = fixture('speech.ndjson');
const QUERY = {
  interim_results: true,
  punctuate: true,
  diarize: true,
  vad_events: true,
  utterance_end_ms: 1000,
} as const;
const strip = (text: string) => text.replace(/"(request_id|created)":"[^"]*"/g, '');

async function text(source: Readable, ...stages: Duplex[]): Promise<string> {
  let out = '';
  await pipeline([
    source,
    ...stages,
    new Writable({
      write(chunk, _e, cb) {
        out += chunk;
        cb();
      },
    }),
  ]);
  return out;
}
const replay = () => createReadStream(SAVED).pipe(fromNdjson());

t.test('a live run saved as NDJSON is what the saved fixture holds, and it replays', async (t) => {
  const server = await serve(t, { script: readFileSync(fixture('speech.txt'), 'utf8') });
  const live = await text(
    createReadStream(fixture('speech.wav')),
    createTranscriber({ url: server.url, query: QUERY }),
    toNdjson(),
  );
  if (process.env.UPDATE_GOLDEN) writeFileSync(SAVED, live);
  t.equal(
    strip(live),
    strip(readFileSync(SAVED, 'utf8')),
    'the local server is deterministic, so the saved run matches',
  );
  const replayed = await readAll(replay());
  const saved = readFileSync(SAVED, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(replayed, saved, 'NDJSON back in gives the same objects');
});

t.test('fromNdjson: blank lines skipped, a bad line is an error that names it', async (t) => {
  t.same(await readAll(Readable.from(['{"a":1}\n\n{"b":2}\n']).pipe(fromNdjson())), [{ a: 1 }, { b: 2 }]);
  await t.rejects(readAll(Readable.from(['{"a":1}\nnot json\n']).pipe(fromNdjson())), {
    message: /line 2 is not JSON/,
  });
});

t.test('captions and text from the saved run match their golden files', async (t) => {
  const outputs: [string, () => Transform[]][] = [
    ['speech.srt', () => [toSrt()]],
    ['speech.vtt', () => [toVtt()]],
    ['speech.utterances.txt', () => [utterances(), toText()]],
  ];
  for (const [golden, stages] of outputs) {
    const out = await text(replay(), ...stages());
    if (process.env.UPDATE_GOLDEN) writeFileSync(fixture(golden), out);
    t.equal(out, readFileSync(fixture(golden), 'utf8'), golden);
  }
});

/** Checks SRT or WebVTT against its format: numbering, timing syntax, order, no overlap, line limits. */
function checkCaptions(t: Test, out: string, format: 'srt' | 'vtt', maxLineChars = 42, maxLines = 2) {
  let body = out;
  if (format === 'vtt') {
    t.ok(out.startsWith('WEBVTT\n\n'), 'WEBVTT header');
    body = out.slice('WEBVTT\n\n'.length);
  }
  const blocks = body.split('\n\n').filter(Boolean);
  const sep = format === 'srt' ? ',' : '\\.';
  const timing = new RegExp(`^(\\d\\d):(\\d\\d):(\\d\\d)${sep}(\\d{3}) --> (\\d\\d):(\\d\\d):(\\d\\d)${sep}(\\d{3})$`);
  let last = -1;
  blocks.forEach((block, i) => {
    const lines = block.split('\n');
    if (format === 'srt') t.equal(lines.shift(), String(i + 1), 'cues numbered from 1');
    const m = timing.exec(lines.shift() ?? '');
    t.ok(m, 'timing line');
    if (!m) return;
    const at = (h: string, mi: string, s: string, ms: string) => ((+h * 60 + +mi) * 60 + +s) * 1000 + +ms;
    const start = at(m[1], m[2], m[3], m[4]);
    const end = at(m[5], m[6], m[7], m[8]);
    t.ok(start >= last && end > start, 'cues in order, none overlapping, none empty');
    last = end;
    t.ok(lines.length >= 1 && lines.length <= maxLines, 'one or two lines');
    for (const line of lines)
      t.ok(
        line.replace(/^<v [^>]+>|^(Channel \d+, )?Speaker \d+: |^Channel \d+: /, '').length <= maxLineChars,
        'line width',
      );
  });
  return blocks.length;
}

t.test('captions are valid SRT and WebVTT, with speaker labels under diarize', async (t) => {
  const srt = await text(replay(), toSrt());
  const vtt = await text(replay(), toVtt());
  t.ok(checkCaptions(t, srt, 'srt') > 3);
  t.ok(checkCaptions(t, vtt, 'vtt') > 3);
  t.match(srt, /\nSpeaker 0: Hello world\.\n/);
  t.match(vtt, /\n<v Speaker 0>Hello world\.\n/);
  const unlabelled = await text(replay(), toSrt({ speakerLabels: false }));
  t.notMatch(unlabelled, /Speaker/);
});

function final(words: [string, number, number, number?][], speechFinal = false, channel = 0): ResultsMessage {
  const list: Word[] = words.map(([word, start, end, speaker]) => ({
    word,
    start,
    end,
    confidence: 1,
    ...(speaker === undefined ? {} : { speaker }),
  }));
  return {
    type: 'Results',
    channel_index: [channel, 2],
    start: list[0]?.start ?? 0,
    duration: 1,
    is_final: true,
    speech_final: speechFinal,
    channel: { alternatives: [{ transcript: words.map((w) => w[0]).join(' '), confidence: 1, words: list }] },
    metadata: { request_id: 'r', model_info: { name: 'm', version: 'v', arch: 'a' }, model_uuid: 'u' },
    from_finalize: false,
  };
}

t.test('cue limits: line width, two lines, cue length, gaps and speaker changes each start a new cue', async (t) => {
  const long = Array.from({ length: 40 }, (_, i) => [`word${i}`, i * 0.3, i * 0.3 + 0.25] as [string, number, number]);
  const srt = await text(Readable.from([final(long, true)]), toSrt({ maxLineChars: 20, maxCueSeconds: 100 }));
  checkCaptions(t, srt, 'srt', 20);
  const short = await text(Readable.from([final(long, true)]), toVtt({ maxCueSeconds: 2 }));
  checkCaptions(t, short, 'vtt');
  t.ok(short.split('-->').length - 1 >= 6, 'a 12 s run of words in cues of at most 2 s');
  const gap = await text(
    Readable.from([
      final([
        ['a', 0, 0.5],
        ['b', 3, 3.5],
      ]),
    ]),
    toSrt(),
  );
  t.equal(gap.split('-->').length - 1, 2, 'a 2.5 s gap starts a new cue');
  const speakers = await text(
    Readable.from([
      final([
        ['a', 0, 0.5, 0],
        ['b', 0.6, 1, 1],
      ]),
    ]),
    toSrt(),
  );
  t.match(speakers, /Channel 0, Speaker 0: a\n\n2\n.*\nChannel 0, Speaker 1: b/);
  t.equal(await text(Readable.from([]), toVtt()), 'WEBVTT\n\n', 'no speech: a valid empty WebVTT file');
  const escaped = await text(Readable.from([final([['<b>&', 0, 1]])]), toVtt());
  t.match(escaped, /&lt;b&gt;&amp;/);
});

t.test('finalsOnly, utterances and the per-channel split', async (t) => {
  const interim: ServerMessage = { ...final([['x', 0, 1]]), is_final: false };
  const empty = final([]);
  const stream: ServerMessage[] = [
    interim,
    final([['hello', 0, 0.5]]),
    empty,
    final([['world', 0.6, 1]], true),
    final([['left', 0, 1]], false, 1),
    final([['again', 2, 2.5]]),
    { type: 'UtteranceEnd', channel: [0, 2], last_word_end: 2.5 },
    final([['open', 5, 5.5]], false, 1),
  ];
  const finals = (await readAll(Readable.from(stream).pipe(finalsOnly()))) as ResultsMessage[];
  t.same(
    finals.map((f) => f.channel.alternatives[0].transcript),
    ['hello', 'world', 'left', 'again', 'open'],
  );
  t.equal((await readAll(Readable.from(stream).pipe(finalsOnly({ keepEmpty: true })))).length, 6);
  const said = (await readAll(Readable.from(stream).pipe(utterances()))) as unknown as Utterance[];
  t.same(
    said.map((u) => [u.channel, u.text, u.start, u.end]),
    [
      [0, 'hello world', 0, 1],
      [0, 'again', 2, 2.5],
      [1, 'left open', 0, 5.5],
    ],
    'ended by speech_final, by UtteranceEnd, and by the end of the stream',
  );
  t.same((await readAll(Readable.from(stream).pipe(channelFilter(1)))).length, 2);
  const [zero, one] = splitChannels(Readable.from(stream), 2);
  const [a, b] = await Promise.all([readAll(zero), readAll(one)]);
  t.equal(a.length + b.length, stream.length);
  t.ok(b.every((m) => (m as ResultsMessage).channel_index[0] === 1));
  t.equal(
    await text(Readable.from(stream), toText()),
    'Channel 0: hello\nChannel 1: left\nChannel 0: world\nChannel 0: again\nChannel 1: open\n',
    'each line labelled with its channel, in time order across the channels',
  );
});

t.test('text output from a live pipeline', async (t) => {
  const server = await serve(t, { script: 'One two three.' });
  const sink = collector<string>();
  await pipeline(
    createReadStream(fixture('speech.flac')),
    createTranscriber({ url: server.url }),
    finalsOnly(),
    toText(),
    sink,
  );
  t.match(sink.messages[0], /^one two/, 'plain words without punctuate');
});

t.test('who said it: text a line per speaker, captions per channel in time order, labelled', async (t) => {
  const mono = (words: [string, number, number, number?][]) => ({ ...final(words, true), channel_index: [0, 1] });
  const diarized = await text(
    Readable.from([
      mono([
        ['hi', 0, 0.4, 0],
        ['there', 0.4, 0.8, 0],
        ['hello', 1, 1.4, 1],
      ]),
    ]),
    toText(),
  );
  t.equal(diarized, 'Speaker 0: hi there\nSpeaker 1: hello\n', 'one channel: speakers only');
  t.equal(await text(Readable.from([mono([['plain', 0, 1]])]), toText()), 'plain\n', 'neither: no label');
  // Channel 1's first words come after channel 0's later ones on the wire, yet belong before them.
  const stereo = [final([['late', 4, 4.5]], true, 0), final([['early', 1, 1.5]], true, 1), final([], true, 1)];
  stereo[2] = { ...stereo[2], start: 5, duration: 1 };
  const vtt = await text(Readable.from(stereo), toVtt());
  t.match(vtt, /<v Channel 1>early[\s\S]*<v Channel 0>late/, 'labelled, and in time order across channels');
  const srt = await text(Readable.from(stereo), toSrt());
  t.match(srt, /^1\n.*\nChannel 1: early\n\n2\n.*\nChannel 0: late\n/);
});
