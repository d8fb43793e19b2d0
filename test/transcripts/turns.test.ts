// Flux runs through the transcript transforms: turns(), text, NDJSON and its replay, SRT and WebVTT, and the
// command line's every format.
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createFluxStream,
  fromNdjson,
  toNdjson,
  toSrt,
  toText,
  toVtt,
  turns,
  utterances,
  type FluxMessage,
  type Turn,
} from '../../lib/index.js';
import { chunk, collector, fixture, runMain, serve, withEnv } from '../helpers.js';

const RAW = readFileSync(fixture('speech.raw'));
const SCRIPT = readFileSync(fixture('speech.txt'), 'utf8');

async function fluxRun(t: Test): Promise<FluxMessage[]> {
  const server = await serve(t, { script: SCRIPT });
  const out = collector<FluxMessage>();
  const flux = createFluxStream({ url: server.url, query: { encoding: 'linear16', sample_rate: 16000 } });
  await pipeline(Readable.from(chunk(RAW, 2560)), flux, out);
  return out.messages;
}
const through = async (messages: unknown[], ...stages: NodeJS.ReadWriteStream[]) => {
  const out = collector<unknown>();
  await pipeline([Readable.from(messages), ...stages, out] as never);
  return out.messages;
};

t.test('turns(): one object per finished turn, with its words, times, trigger and index', async (t) => {
  const messages = await fluxRun(t);
  const list = (await through(messages, turns())) as Turn[];
  t.same(
    list.map((turn) => [turn.index, turn.trigger, turn.text]),
    [
      [0, 'model', 'Hello world.'],
      [1, 'manual', 'This is a test of live transcription. Every word should arrive, in order, with its time.'],
    ],
    'a pause long enough ends the first turn; end() ends the second',
  );
  for (const turn of list) {
    t.equal(turn.words.map((w) => w.word).join(' '), turn.text);
    t.ok(turn.start < turn.end && turn.start === turn.words[0].start && turn.end === turn.words.at(-1)!.end);
  }
  t.ok(
    list.every((turn, i) => i === 0 || turn.start >= list[i - 1].end),
    'in order on the timeline',
  );
});

t.test('text, SRT and WebVTT from a Flux run, and the same again from its NDJSON replay', async (t) => {
  const messages = await fluxRun(t);
  const text = (await through(messages, toText())).join('');
  t.match(
    text,
    /^Hello world\.\nThis is a test of live transcription\. Every word should arrive, in order, with its time\.\n$/,
  );
  t.equal((await through(messages, utterances(), toText())).join(''), text, 'utterances are the turns');
  const srt = (await through(messages, toSrt())).join('');
  t.match(srt, /^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\nHello world\.\n\n2\n/);
  const vtt = (await through(messages, toVtt())).join('');
  t.match(vtt, /^WEBVTT\n\n00:00:00\.\d{3} --> .*\nHello world\.\n/);
  const ndjson = (await through(messages, toNdjson())).join('');
  const replayed = await through([ndjson], fromNdjson());
  t.same(replayed, messages, 'NDJSON gives back every message');
  t.equal((await through(replayed, toSrt())).join(''), srt);
  t.equal((await through(replayed, toVtt())).join(''), vtt);
});

t.test('fromNdjson refuses a malformed TurnInfo, naming its line', async (t) => {
  const lines = '{"type":"Connected","request_id":"r","sequence_id":0}\n{"type":"TurnInfo","event":"Update"}\n';
  await t.rejects(through([lines], fromNdjson()), /line 2 is not a valid message \(TurnInfo: turn_index/);
});

t.test('the command line transcribes with Flux in every format', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const run = (...args: string[]) =>
    runMain(['transcribe', '--url', server.url, '--model', 'flux-general-en', ...args, fixture('speech.wav')]);
  const text = await run();
  t.equal(text.code, 0);
  t.match(text.out, /^Hello world\.\nThis is a test of live transcription\. Every/);
  t.match((await run('--format', 'srt')).out, /^1\n00:00:00,\d{3} --> /);
  t.match((await run('--format', 'vtt')).out, /^WEBVTT\n\n/);
  const ndjson = (await run('--format', 'ndjson')).out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(ndjson[0].type, 'Connected');
  t.match(ndjson.at(-1), { type: 'Metadata', turns: 2 });
  const json = JSON.parse((await run('--format', 'json', '--eot_threshold', '0.8')).out);
  t.match(json, { transcript: /^Hello world\./, metadata: { type: 'Metadata' }, turns: [{ type: 'Turn' }] });
  withEnv(t, { NO_COLOR: undefined }); // tap sets it for its tests
  const live = await runMain(['transcribe', '--url', server.url, '--model', 'flux-general-en', fixture('speech.wav')], {
    stdoutTty: true,
  });
  t.match(live.out, /\x1b\[90mHello\x1b\[0m/, 'on a terminal the turn so far is a grey line, rewritten');
  t.match(live.out, /\r\x1b\[2KHello world\.\n/, 'and the finished turn replaces it as a line');
  const wrong = await runMain([
    'transcribe',
    '--url',
    server.url,
    '--model',
    'flux-general-en',
    '--punctuate',
    'x.wav',
  ]);
  t.same(
    [wrong.code, wrong.err.split('\n')[0]],
    [
      2,
      'deepgram-stream: punctuate is not a Flux parameter (Flux takes model, encoding, sample_rate, eot_threshold, ' +
        'eager_eot_threshold, eot_timeout_ms, keyterm, language_hint, numerals, profanity_filter, redact, ' +
        'mip_opt_out, tag)',
    ],
  );
  const notFlux = await runMain(['transcribe', '--url', server.url, '--eot_threshold', '0.8', 'x.wav']);
  t.match([notFlux.code, notFlux.err], [2, /--eot_threshold is a Flux parameter: give --model flux-general-en/]);
});
