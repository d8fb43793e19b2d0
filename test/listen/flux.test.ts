// The Flux Duplex against the local server's /v2/listen (and stand-in servers where a reply must be forced): every
// guarantee of the /v1 stream, pings for keep-alive, Configure one at a time, and no turn lost at end().
import t from 'tap';
import type { Test } from 'tap';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createFluxStream,
  DeepgramError,
  type FluxMessage,
  type FluxMetadataMessage,
  type FluxWarning,
  type TurnInfoMessage,
  type Turn,
  turns,
} from '../../lib/index.js';
import {
  chunk,
  collector,
  fixture,
  leaks,
  LINEAR16,
  scriptedServer,
  seeded,
  serve,
  sha256,
  tones,
  until,
  wsServer,
} from '../helpers.js';

const RAW = readFileSync(fixture('speech.raw'));
const SCRIPT = readFileSync(fixture('speech.txt'), 'utf8');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const turnInfos = (messages: FluxMessage[]) => messages.filter((m): m is TurnInfoMessage => m.type === 'TurnInfo');
const ends = (messages: FluxMessage[]) => turnInfos(messages).filter((m) => m.event === 'EndOfTurn');

/**
 * A stand-in /v2/listen that records what the client sent, answers ForceEndTurn as Flux does with no turn open, and
 * each text frame with `reply`.
 */
async function standIn(t: Test, reply: (text: string, send: (m: object) => void, close: () => void) => void) {
  const frames: { text?: string; bytes?: number; ping?: true }[] = [];
  const url = await wsServer(t, (ws) => {
    let sequence = 0;
    const send = (m: object) => ws.send(JSON.stringify({ ...m, request_id: 'r', sequence_id: sequence++ }));
    send({ type: 'Connected' });
    ws.on('ping', () => frames.push({ ping: true }));
    ws.on('message', (data, binary) => {
      if (binary) return void frames.push({ bytes: (data as Buffer).length });
      frames.push({ text: String(data) });
      if (String(data).includes('ForceEndTurn'))
        send({ type: 'Warning', code: 'FORCE_END_TURN_NO_ACTIVE_TURN', description: 'no turn' });
      reply(String(data), send, () => ws.close());
    });
  });
  return { url, frames };
}

t.test(
  'a session: Connected first, turns as the audio goes, end() ends the last turn and closes cleanly',
  async (t) => {
    const server = await serve(t, { script: SCRIPT });
    const flux = createFluxStream({ url: server.url, query: { ...LINEAR16 }, sha256: true });
    const metadata = once(flux, 'metadata') as Promise<[FluxMetadataMessage]>;
    const out = collector<FluxMessage>();
    const spoken = RAW.subarray(0, 5 * 32000); // ends in the middle of a turn
    await pipeline(Readable.from(chunk(spoken, 2560)), flux, out);
    const messages = out.messages;
    t.equal(messages[0].type, 'Connected');
    t.same(
      messages.flatMap((m) => ('sequence_id' in m ? [m.sequence_id] : [])),
      messages.slice(0, -1).map((_, i) => i),
      'one sequence_id counter, from 0',
    );
    const last = ends(messages).at(-1)!;
    t.equal(last.trigger, 'manual', 'the open turn was ended by ForceEndTurn');
    t.equal(last.audio_window_end, 5, 'after every byte of audio was heard');
    t.match(
      ends(messages)
        .map((m) => m.transcript)
        .join(' '),
      /^Hello world\. This is a test of live transcription\./,
    );
    const [meta] = await metadata;
    t.same(messages.at(-1), meta, 'Metadata last, built by the client');
    t.same(
      { bytes: meta.bytes, sha256: meta.sha256, turns: meta.turns, duration: meta.duration },
      { bytes: spoken.length, sha256: sha256(spoken), turns: ends(messages).length, duration: 5 },
    );
    t.match(meta.request_id, /^[0-9a-f-]{36}$/);
  },
);

t.test('the Metadata says a sha256 only when asked (sha256: true): hashing costs CPU at scale', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const flux = createFluxStream({ url: server.url, query: { ...LINEAR16 } });
  const out = collector<FluxMessage>();
  const spoken = RAW.subarray(0, 32000);
  await pipeline(Readable.from(chunk(spoken, 3200)), flux, out);
  const meta = flux.metadata!;
  t.same(out.messages.at(-1), meta);
  t.same({ bytes: meta.bytes, duration: meta.duration }, { bytes: spoken.length, duration: 1 });
  t.notOk('sha256' in meta, 'no sha256 by default');
});

t.test('keep-alive is WebSocket pings while no audio goes; never a KeepAlive or Finalize text', async (t) => {
  const fake = await standIn(t, (text, _send, close) => text.includes('CloseStream') && close());
  const flux = createFluxStream({ url: fake.url, keepAlive: 50 });
  flux.resume();
  await sleep(400);
  flux.write(tones([0.2]));
  await sleep(200);
  flux.end();
  await once(flux, 'end');
  t.ok(fake.frames.filter((f) => f.ping).length >= 3, 'pings while idle');
  t.same(
    fake.frames.filter((f) => f.text).map((f) => JSON.parse(f.text!).type),
    ['ForceEndTurn', 'CloseStream'],
    "no text but end()'s",
  );
  // And against the local server, where a KeepAlive text would be a fatal error: an idle session lives.
  const server = await serve(t);
  const idle = createFluxStream({ url: server.url, query: LINEAR16, keepAlive: 50 });
  idle.resume();
  await sleep(300);
  idle.end(tones([0.5]));
  await once(idle, 'end');
});

t.test('a Configure still unanswered when the stream is destroyed rejects with DG_CLOSED', async (t) => {
  const fake = await standIn(t, () => {}); // never answers a Configure
  const flux = createFluxStream({ url: fake.url, query: LINEAR16 });
  flux.resume();
  await once(flux, 'open');
  const pending = flux.configure({ keyterms: ['deepgram'] });
  await until(() => fake.frames.some((f) => f.text?.includes('Configure')), 'the Configure to go out');
  flux.destroy();
  await t.rejects(pending, { code: 'DG_CLOSED', message: /before Flux acknowledged this Configure/ });
});

t.test('a server that acknowledges one Configure twice: the next configure() gets its own answer', async (t) => {
  const config = { thresholds: { eot_threshold: 0.8, eot_timeout_ms: 5000 }, keyterms: [], numerals: false };
  let configures = 0;
  const fake = await standIn(t, (text, send) => {
    if (!text.includes('Configure')) return;
    if (++configures === 1) {
      send({ type: 'ConfigureSuccess', ...config });
      send({ type: 'ConfigureSuccess', ...config }); // the same answer again
    } else send({ type: 'ConfigureFailure', code: 'INVALID_KEYTERMS', description: 'refused' });
  });
  const flux = createFluxStream({ url: fake.url, query: LINEAR16 });
  flux.resume();
  const [first, second] = await Promise.all([
    flux.configure({ thresholds: { eot_threshold: 0.8 } }),
    flux.configure({ keyterms: ['deepgram'] }),
  ]);
  t.equal(first.type, 'ConfigureSuccess');
  t.equal(second.type, 'ConfigureFailure', "the second Configure's own answer, not the repeated first");
  flux.destroy();
});

t.test(
  'Flux messages are checked where they enter: a TurnInfo or ConfigureSuccess missing a field, or out of range',
  async (t) => {
    for (const bad of [
      {
        type: 'TurnInfo',
        event: 'Update',
        turn_index: 0,
        audio_window_start: 0,
        audio_window_end: 1,
        transcript: '',
        words: [],
      },
      {
        type: 'TurnInfo',
        event: 'Update',
        turn_index: 0,
        audio_window_start: 2,
        audio_window_end: 1,
        transcript: '',
        words: [],
        end_of_turn_confidence: 0,
      },
      { type: 'ConfigureSuccess', thresholds: { eot_threshold: '0.8' }, keyterms: [], numerals: false },
      {
        type: 'ConfigureSuccess',
        thresholds: { eot_threshold: 0.8, eot_timeout_ms: 5000 },
        keyterms: [1],
        numerals: false,
      },
      // Out of Flux's own ranges: kept, it would be set again after a reconnect, and refused then.
      {
        type: 'ConfigureSuccess',
        thresholds: { eot_threshold: 1e308, eot_timeout_ms: 5000 },
        keyterms: [],
        numerals: false,
      },
      {
        type: 'ConfigureSuccess',
        thresholds: { eot_threshold: 0.7, eot_timeout_ms: 5000 },
        keyterms: Array.from({ length: 101 }, (_, i) => `k${i}`),
        numerals: false,
      },
      { type: 'ConfigureFailure', code: 4 },
    ]) {
      const url = await scriptedServer(t, [JSON.stringify({ ...bad, request_id: 'r', sequence_id: 0 })]);
      const flux = createFluxStream({ url, query: LINEAR16 });
      flux.resume();
      const [error] = await once(flux, 'error');
      t.equal(error.code, 'DG_PROTOCOL', `${bad.type}: ${error.message}`);
    }
  },
);

t.test(
  'Configure: one in flight, the next after its acknowledgement; a failure resolves as ConfigureFailure',
  async (t) => {
    const server = await serve(t, { realtimeFactor: 4 });
    const flux = createFluxStream({ url: server.url, query: { ...LINEAR16, eager_eot_threshold: 0.4 } });
    flux.resume();
    for (const part of chunk(tones([2]), 3200)) flux.write(part); // a backlog: the Configures wait behind it
    // The local server refuses a Configure sent before the last one was acknowledged, as Flux does.
    const acks = await Promise.all([
      flux.configure({ thresholds: { eot_threshold: 0.8 } }),
      flux.configure({ keyterms: ['deepgram'] }),
      flux.configure({ numerals: true }),
    ]);
    t.same(
      acks.map((a) => a.type),
      ['ConfigureSuccess', 'ConfigureSuccess', 'ConfigureSuccess'],
    );
    t.match(acks[2], {
      thresholds: { eot_threshold: 0.8, eager_eot_threshold: 0.4 },
      keyterms: ['deepgram'],
      numerals: true,
    });
    t.throws(() => flux.configure({ thresholds: { eager_eot_threshold: 0.9 } }), {
      code: 'DG_OPTIONS',
      message: /eager_eot_threshold \(0\.9\) must be at most eot_threshold \(0\.8/,
    });
    flux.end();
    await once(flux, 'end');

    const refusing = await standIn(t, (text, send, close) => {
      if (text.includes('Configure')) send({ type: 'ConfigureFailure', code: 'INVALID_THRESHOLD', description: 'no' });
      if (text.includes('CloseStream')) close();
    });
    const other = createFluxStream({ url: refusing.url });
    other.resume();
    const ack = await other.configure({ thresholds: { eot_threshold: 0.6 } });
    t.match(ack, { type: 'ConfigureFailure', code: 'INVALID_THRESHOLD' });
    other.end();
    await once(other, 'end');
  },
);

t.test('forceEndTurn() and Configure go out after the audio written before them, never ahead', async (t) => {
  const server = await serve(t, { realtimeFactor: 4 });
  const flux = createFluxStream({ url: server.url, query: LINEAR16 });
  const out = collector<FluxMessage>();
  const done = pipeline(flux, out);
  for (const part of chunk(tones([1.5, 0.1, 1]), 3200)) flux.write(part);
  flux.forceEndTurn();
  flux.end();
  await done;
  const manual = ends(out.messages).find((m) => m.trigger === 'manual')!;
  t.equal(manual.audio_window_end, 2.6, 'the turn ended after all 2.6 s written before it');
  t.notOk(
    turnInfos(out.messages).some((m) => m.event !== 'Update' && m.turn_index > manual.turn_index),
    'no turn after it',
  );
});

t.test('a deployment that refuses ForceEndTurn: the last Update is the final text, a warning says so', async (t) => {
  const server = await serve(t, { faults: { noForceEndTurn: true }, script: 'one two three four five six' });
  const flux = createFluxStream({ url: server.url, query: LINEAR16 });
  const warnings: FluxWarning[] = [];
  flux.on('warning', (w) => warnings.push(w));
  const out = collector<FluxMessage>();
  await pipeline(Readable.from([tones([0.3, 0.1, 0.3, 0.1, 0.3, 0.2])]), flux, out);
  t.match(warnings, [{ code: 'FORCE_END_TURN_REFUSED', description: /UNPARSABLE|not enabled/ }]);
  const last = ends(out.messages).at(-1)!;
  t.match(last, { trigger: 'client', transcript: 'one two three' });
  t.equal(out.messages.at(-1)?.type, 'Metadata', 'and the stream still ended cleanly');
});

t.test('errors: a 400 with its description, a fatal Error message, the close timeout; the key nowhere', async (t) => {
  const server = await serve(t, { apiKey: 'flux-secret-key' });
  const refused = createFluxStream({
    url: server.url,
    apiKey: 'flux-secret-key',
    query: { encoding: 'opus', sample_rate: 48000 },
  });
  const [error] = (await once(refused, 'error').catch((e) => [e])) as [DeepgramError];
  t.match(error, { code: 'DG_HANDSHAKE', status: 400, body: /"code":"INVALID_PARAMETER"/ });
  t.match(error.message, /raw Opus/);
  const wrongKey = createFluxStream({ url: server.url, apiKey: 'not-the-key' });
  const [denied] = (await once(wrongKey, 'error').catch((e) => [e])) as [DeepgramError];
  t.match(denied, { code: 'DG_HANDSHAKE', status: 401 });
  t.same(leaks('flux-secret-key', [error, denied]), []);

  const fatal = await standIn(t, (_text, send, close) => {
    send({ type: 'Error', code: 'INTERNAL_SERVER_ERROR', description: 'An internal server error occurred' });
    close();
  });
  const broken = createFluxStream({ url: fatal.url });
  const failed = once(broken, 'error').catch((e) => [e]);
  broken.resume();
  broken.end(Buffer.alloc(100));
  const [serverError] = (await failed) as [DeepgramError];
  t.match(serverError, { code: 'DG_SERVER', dgError: 'INTERNAL_SERVER_ERROR', message: /internal server error/ });

  const hanging = await serve(t, { faults: { hangOnClose: true } });
  const stuck = createFluxStream({ url: hanging.url, query: LINEAR16, closeTimeout: 300 });
  stuck.resume();
  stuck.end(Buffer.alloc(3200));
  const [timeout] = (await once(stuck, 'error').catch((e) => [e])) as [DeepgramError];
  t.equal(timeout.code, 'DG_CLOSE_TIMEOUT');
});

t.test('options are checked before connecting, saying how to fix them', async (t) => {
  const cases: [object, RegExp][] = [
    [{ eot_threshold: 0.4 }, /eot_threshold must be a number from 0\.5 to 1/],
    [{ eot_threshold: 0.6, eager_eot_threshold: 0.7 }, /eager_eot_threshold \(0\.7\) must be at most eot_threshold/],
    [{ eot_timeout_ms: 100 }, /eot_timeout_ms must be a whole number from 500 to 60000/],
    [{ language_hint: 'es' }, /language_hint is not supported for model flux-general-en: use flux-general-multi/],
    [{ model: 'flux-general-multi', language_hint: 'xx' }, /language_hint "xx" is not one Flux knows/],
    [{ sample_rate: 16000 }, /give encoding too/],
    [{ encoding: 'linear16' }, /needs sample_rate/],
    [{ encoding: 'linear16', sample_rate: 22050 }, /sample_rate must be one of 8000, 16000/],
    [{ punctuate: true }, /punctuate is not a Flux parameter/],
    [{ model: 'nova-3' }, /model must be flux-general-en or flux-general-multi/],
    [{ redact: 'pci' }, /redact must be numbers or aggressive_numbers/],
    [{ numerals: 'maybe' }, /numerals must be true or false, not "maybe"/],
  ];
  for (const [query, message] of cases)
    t.throws(() => createFluxStream({ url: 'ws://127.0.0.1:9', query: query as never }), {
      code: 'DG_OPTIONS',
      message,
    });
});

t.test('write and read backpressure, and writes before open held and counted', async (t) => {
  const server = await serve(t, { realtimeFactor: 1 });
  const flux = createFluxStream({ url: server.url, query: LINEAR16 });
  let accepted = 0;
  while (flux.write(Buffer.alloc(32000))) accepted++;
  t.ok(accepted < 64, `write() said wait after ${accepted} s of audio, before the socket opened`);
  flux.resume();
  await sleep(1000);
  t.ok(flux.writableLength < 4 * 1024 * 1024, 'held audio stays bounded against a real-time server');
  flux.destroy();

  const fast = await serve(t);
  const reader = createFluxStream({ url: fast.url, query: LINEAR16, readableHighWaterMark: 8 });
  reader.end(tones(Array.from({ length: 240 }, () => 0.5))); // 2 minutes: 500 TurnInfos
  await sleep(1000);
  const held = reader.readableLength;
  const all: FluxMessage[] = [];
  for await (const m of reader) all.push(m);
  t.ok(turnInfos(all).length >= 499, `then all ${all.length} messages arrive`);
  // Pausing the socket stops it being read; what one read of it (64 KiB) had already brought is still delivered.
  const smallest = Math.min(...turnInfos(all).map((m) => JSON.stringify(m).length));
  const bound = 8 + Math.ceil(65536 / smallest);
  t.ok(held <= bound && held < all.length / 2, `a consumer that does not read holds the socket (${held} <= ${bound})`);
});

t.test(
  'reconnect: drops at seeded random points give the same turns, times and turn indexes as a clean run',
  async (t) => {
    // 40 s of speech-like audio: tones of varied length between pauses long and short, so turns end now and then.
    const audio = tones(Array.from({ length: 60 }, (_, i) => 0.2 + ((i * 37) % 11) / 10));
    const run = async (drops: number[], eot?: number) => {
      const server = await serve(t, {
        faults: ({ index }) => (index < drops.length ? { dropAfterBytes: drops[index] } : undefined),
      });
      const flux = createFluxStream({
        url: server.url,
        query: LINEAR16,
        reconnect: { attempts: 3, backoff: { initial: 10, max: 50 } },
      });
      let reconnects = 0;
      flux.on('reconnect', () => reconnects++);
      const out = collector<Turn>();
      const configured = eot && flux.configure({ thresholds: { eot_threshold: eot } });
      await pipeline(Readable.from(chunk(audio, 6400)), flux, turns(), out);
      await configured;
      return {
        turns: out.messages.map(({ index, text, start, end, trigger }) => [index, text, start, end, trigger]),
        reconnects,
      };
    };
    const clean = await run([]);
    t.ok(clean.turns.length > 5, `${clean.turns.length} turns`);
    const next = seeded(20261126);
    for (let round = 0; round < 3; round++) {
      const drops = Array.from({ length: round + 1 }, () => 64000 + Math.floor(next() * 300_000));
      const dropped = await run(drops);
      t.equal(dropped.reconnects, drops.length, `${drops.length} reconnect(s) after drops at ${drops}`);
      t.same(dropped.turns, clean.turns, 'the same turns, times and indexes');
    }
    // A Configure made before the drop holds in the new session too.
    const configured = await run([], 0.95);
    t.notSame(configured.turns, clean.turns, 'eot_threshold 0.95 ends turns elsewhere');
    t.same((await run([200_000], 0.95)).turns, configured.turns, 'and still does after a reconnect');
  },
);

t.test(
  'reconnect: a configuration Configure changed is set again first; one that matches the query is not',
  async (t) => {
    /** The types of the text frames the second session heard, after a drop once `change` (if any) was acknowledged. */
    const secondSession = async (change?: { thresholds: { eot_threshold: number } }) => {
      const sessions: { ws: import('ws').WebSocket; texts: string[] }[] = [];
      const url = await wsServer(t, (ws) => {
        const session = { ws, texts: [] as string[] };
        sessions.push(session);
        let sequence = 0;
        const send = (m: object) => ws.send(JSON.stringify({ ...m, request_id: 'r', sequence_id: sequence++ }));
        send({ type: 'Connected' });
        ws.on('message', (data, binary) => {
          if (binary) return;
          const message = JSON.parse(String(data));
          session.texts.push(message.type);
          if (message.type === 'Configure') {
            const eot_threshold = message.thresholds?.eot_threshold ?? 0.7;
            send({
              type: 'ConfigureSuccess',
              thresholds: { eot_threshold, eot_timeout_ms: 5000 },
              keyterms: [],
              numerals: false,
            });
          } else if (message.type === 'ForceEndTurn') {
            send({ type: 'Warning', code: 'FORCE_END_TURN_NO_ACTIVE_TURN', description: 'no turn' });
          } else if (message.type === 'CloseStream') ws.close();
        });
      });
      const flux = createFluxStream({ url, query: LINEAR16, reconnect: { attempts: 2, backoff: { initial: 10 } } });
      flux.resume();
      await once(flux, 'open');
      if (change) t.equal((await flux.configure(change)).type, 'ConfigureSuccess');
      sessions[0].ws.terminate();
      const [reopened] = await once(flux, 'open');
      t.equal(reopened.reconnected, true);
      flux.end();
      await once(flux, 'close');
      t.equal(sessions.length, 2);
      return sessions[1].texts;
    };
    t.same(await secondSession(), ['ForceEndTurn', 'CloseStream'], 'never configured: nothing to set again');
    const same = await secondSession({ thresholds: { eot_threshold: 0.7 } });
    t.same(same, ['ForceEndTurn', 'CloseStream'], "configured to the query's own values: nothing to set again");
    const changed = await secondSession({ thresholds: { eot_threshold: 0.9 } });
    t.same(changed, ['Configure', 'ForceEndTurn', 'CloseStream'], 'a changed configuration goes first');
  },
);
