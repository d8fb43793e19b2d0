// The latency report against the local server, with and without its `latencyMs` fault: the report must find the
// latency that was injected.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { latencyChart, latencyText, measureLatency } from '../../lib/live/latency.js';
import { fixture, runMain, serve, wavClaiming } from '../helpers.js';

// The two measurements a test compares run one after the other, and the tests one at a time: a measurement beside
// another in this process took up to 105 ms of the other's noise.

/**
 * The injected 250 ms is found: more than 200 ms, and less than twice it (counted once). Side by side in one process,
 * one run took up to 105 ms of the other's noise; on a quiet machine the report finds 247 to 250 ms. Precision is
 * not a test's to time.
 */
const inRange = (ms: number) => ms > 200 && ms < 500;

t.test('the report finds an injected latency of 250 ms', async (t) => {
  const plain = await serve(t, { script: readFileSync(fixture('speech.txt'), 'utf8') });
  const slow = await serve(t, { script: readFileSync(fixture('speech.txt'), 'utf8'), faults: { latencyMs: 250 } });
  // Per word the median moves with the load (30 to 218 ms found under the suite's): only that it is found. A burst of
  // the suite's load can fall on one measurement of a pair and not the other, so up to three pairs are measured: a
  // latency the report cannot find is missing from all three.
  const pair = async () => {
    const base = await measureLatency(fixture('speech.wav'), { url: plain.url });
    const late = await measureLatency(fixture('speech.wav'), { url: slow.url });
    const found = late.speechFinalMs.p50 - base.speechFinalMs.p50;
    const words = late.wordFinalMs.p50 - base.wordFinalMs.p50;
    return { base, late, found, words, ok: inRange(found) && words > 100 && words < 500 };
  };
  let measured = await pair();
  for (let again = 0; again < 2 && !measured.ok; again++) measured = await pair();
  const { base, late, found, words } = measured;
  t.equal(base.audioSeconds, 7.718);
  t.equal(base.wordFinalMs.count, 18, 'every final word is measured');
  t.ok(base.speechFinalMs.count >= 5);
  t.ok(inRange(found), `end of speech to speech_final: ${found} ms more with 250 ms injected`);
  t.ok(words > 100 && words < 500, `word to its final: ${words} ms more`);
  t.match(
    latencyText(late),
    /^audio: 7\.718 s[\s\S]*first words: \d+ ms after the audio began\nword to its final: p50 \d+ ms, p95 \d+ ms/,
  );
  const chart = latencyChart(late);
  t.equal(
    chart.match(/<circle [^>]+><title>[^<]+ at \d+\.\d\d s: \d+ ms<\/title><\/circle>/g)?.length,
    18,
    'a dot a word',
  );
  t.match(chart, /Word to its final, over 7\.718 s of audio/, 'a title');
  t.match(chart, /audio time \(s\)[\s\S]*delay \(ms\)/, 'axes with units');
  t.match(chart, new RegExp(`p50 ${late.wordFinalMs.p50} ms[\\s\\S]*p95 ${late.wordFinalMs.p95} ms`), 'p50 and p95');
  t.ok((chart.match(/stroke="#eee"/g)?.length ?? 0) >= 6, 'gridlines');
});

t.test('on Flux: word to its EndOfTurn and end of speech to EndOfTurn, finding the injected latency', async (t) => {
  const script = readFileSync(fixture('speech.txt'), 'utf8');
  const plain = await serve(t, { script });
  const slow = await serve(t, { script, faults: { latencyMs: 250 } });
  const query = { model: 'flux-general-en' } as const;
  const base = await measureLatency(fixture('speech.wav'), { url: plain.url, query });
  const late = await measureLatency(fixture('speech.wav'), { url: slow.url, query });
  t.equal(base.flux, true);
  t.ok(base.speechFinalMs.count >= 2, `${base.speechFinalMs.count} turns`);
  const found = late.speechFinalMs.p50 - base.speechFinalMs.p50;
  t.ok(inRange(found), `end of speech to EndOfTurn: ${found} ms more with 250 ms injected`);
  t.match(
    latencyText(late),
    /first words: \d+ ms after the audio began\nword to its EndOfTurn: [^\n]+\nend of speech to EndOfTurn: p50 \d+ ms/,
  );
});

t.test('deepgram-stream latency: the text report, the chart, and a clear error', async (t) => {
  const server = await serve(t);
  const svg = join(t.testdir(), 'latency.svg');
  const silence = join(t.testdir(), 'silence.wav');
  const wav = readFileSync(fixture('speech.wav'));
  const dataAt = wav.indexOf('data') + 8;
  writeFileSync(silence, Buffer.concat([wav.subarray(0, dataAt), Buffer.alloc(wav.length - dataAt)]));
  const [{ code, out }, quiet] = await Promise.all([
    runMain(['latency', '--url', server.url, '--svg', svg, fixture('speech.wav')]),
    runMain(['latency', '--url', server.url, silence]),
  ]);
  t.equal(code, 0);
  t.match(out, /^audio: 7\.718 s, streamed at real-time pace\n/);
  t.match(readFileSync(svg, 'utf8'), /^<svg /);
  const bad = await runMain(['latency', '--url', server.url, fixture('speech.txt')]);
  t.equal(bad.code, 1);
  t.match(bad.err, /FFmpeg could not decode the input/);
  t.equal((await runMain(['latency'])).code, 2);
  t.equal(quiet.code, 1, 'silence: no word, no figures');
  t.match(quiet.err, /no final word arrived in 7\.7 s of audio: nothing to measure/);
});

t.test(
  'a file that would play for hours is refused at once (a WAV claiming 1 Hz), and the bound is a flag',
  async (t) => {
    const wav = wavClaiming(1); // 100,000 samples are 27 hours
    const file = join(t.testdir(), 'one-hertz.wav');
    writeFileSync(file, wav);
    const started = performance.now();
    await t.rejects(measureLatency(file, { url: 'ws://127.0.0.1:1' }), {
      code: 'DG_INPUT',
      message: /100000 s of audio, more than the 3600 s measured at most/,
    });
    t.ok(performance.now() - started < 1000, 'refused before anything is streamed');
    const cli = await runMain(['latency', '--local', '--max-seconds', '5', fixture('speech.wav')]);
    t.equal(cli.code, 1);
    t.match(cli.err, /7\.718? s|8 s of audio, more than the 5 s measured at most/);
  },
);
