// The local server's /v2/listen, as Flux behaves (flux spec §3-§6), seen by a raw client and by Deepgram's own SDK.
import t from 'tap';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { DeepgramClient } from '@deepgram/sdk';
import { chunk, fixture, serve, tones, until, upgrade } from '../helpers.js';

const RAW = readFileSync(fixture('speech.raw'));
const SCRIPT = readFileSync(fixture('speech.txt'), 'utf8');
const QUERY = 'model=flux-general-en&encoding=linear16&sample_rate=16000';
type Message = { type: string; event?: string; [field: string]: any };

/** A raw Flux session: what it received, its close code, and the upgrade's request id. */
function session(url: string, query: string, send: (ws: WebSocket) => void) {
  const ws = new WebSocket(`${url}/v2/listen?${query}`);
  const received: Message[] = [];
  let requestId: string | undefined;
  ws.on('upgrade', (res) => (requestId = String(res.headers['dg-request-id'])));
  ws.on('message', (data) => received.push(JSON.parse(String(data))));
  ws.on('open', () => send(ws));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return { ws, received, closed, requestId: () => requestId };
}
const events = (messages: Message[]) => messages.filter((m) => m.type === 'TurnInfo').map((m) => m.event);
const audioThen =
  (audio: Buffer, ...texts: object[]) =>
  (ws: WebSocket) => {
    for (const part of chunk(audio, 2560)) ws.send(part);
    for (const text of texts) ws.send(JSON.stringify(text));
  };

t.test(
  'Connected first; a TurnInfo per 0.24 s of audio; one sequence_id; CloseStream: no EndOfTurn, 1005',
  async (t) => {
    const server = await serve(t, { script: SCRIPT });
    const run = () => session(server.url, QUERY, audioThen(RAW.subarray(0, 5 * 32000), { type: 'CloseStream' }));
    const first = run();
    t.equal(await first.closed, 1005, 'closed with no status');
    const { received } = first;
    t.same(received[0], { type: 'Connected', request_id: first.requestId(), sequence_id: 0 });
    t.same(
      received.map((m) => m.sequence_id),
      received.map((_, i) => i),
    );
    const turns = received.filter((m) => m.type === 'TurnInfo');
    t.equal(turns.length, Math.ceil(5 / 0.24), 'one per 0.24 s of audio, and one for the part step at CloseStream');
    t.same(
      turns.slice(0, -1).map((m) => m.audio_window_end),
      turns.slice(0, -1).map((_, i) => Math.round((i + 1) * 0.24 * 1e6) / 1e6),
      'stepped by audio time',
    );
    t.equal(turns.at(-1)?.audio_window_end, 5);
    t.ok(events(received).includes('StartOfTurn'));
    t.notOk(events(received).includes('EagerEndOfTurn'), 'no eager events without eager_eot_threshold');
    t.match(
      turns.find((m) => m.event === 'EndOfTurn'),
      { trigger: 'model', transcript: 'Hello world.' },
    );
    t.equal(turns.at(-1)?.event, 'Update', 'the open turn is left open: CloseStream ends no turn');
    const second = run();
    await second.closed;
    const strip = (m: Message[]) => m.map(({ request_id: _, ...rest }) => rest);
    t.same(strip(second.received), strip(received), 'the same audio gives the same messages');
  },
);

t.test('eager mode: EagerEndOfTurn, TurnResumed; eot_threshold 1 leaves the end to eot_timeout_ms', async (t) => {
  const server = await serve(t, { script: SCRIPT });
  const eager = session(server.url, `${QUERY}&eager_eot_threshold=0.4`, audioThen(RAW, { type: 'CloseStream' }));
  await eager.closed;
  const seen = events(eager.received);
  t.ok(seen.includes('EagerEndOfTurn') && seen.includes('TurnResumed'));
  const states = seen.filter((e) => e !== 'Update');
  t.ok(
    states.every((e, i) => e !== 'TurnResumed' || states[i - 1] === 'EagerEndOfTurn'),
    'TurnResumed only right after an EagerEndOfTurn',
  );
  t.ok(
    states.every((e, i) => e !== 'EndOfTurn' || states[i - 1] === 'EagerEndOfTurn'),
    'every EndOfTurn right after an EagerEndOfTurn',
  );
  const timeout = session(
    server.url,
    `${QUERY}&eot_threshold=1&eot_timeout_ms=600`,
    audioThen(tones([0.5, 1]), { type: 'CloseStream' }),
  );
  await timeout.closed;
  t.match(
    timeout.received.filter((m) => m.event === 'EndOfTurn'),
    [{ trigger: 'timeout', turn_index: 0 }],
  );
  const after = timeout.received.filter((m) => m.type === 'TurnInfo').at(-1);
  t.match(after, { event: 'Update', turn_index: 1, transcript: '' }, 'turn_index counts on after EndOfTurn');
});

t.test('ForceEndTurn: EndOfTurn "manual"; with no turn, a Warning; refused (fault): Error and close', async (t) => {
  const server = await serve(t);
  const forced = session(
    server.url,
    QUERY,
    audioThen(tones([1]), { type: 'ForceEndTurn' }, { type: 'ForceEndTurn' }, { type: 'CloseStream' }),
  );
  t.equal(await forced.closed, 1005);
  t.match(
    forced.received.filter((m) => m.event === 'EndOfTurn' || m.type === 'Warning'),
    [
      { event: 'EndOfTurn', trigger: 'manual', turn_index: 0 },
      { type: 'Warning', code: 'FORCE_END_TURN_NO_ACTIVE_TURN' },
    ],
  );
  const gated = await serve(t, { faults: { noForceEndTurn: true } });
  const refused = session(gated.url, QUERY, audioThen(tones([1]), { type: 'ForceEndTurn' }));
  await refused.closed;
  t.match(refused.received.at(-1), { type: 'Error', code: 'UNPARSABLE_CLIENT_MESSAGE', description: /not enabled/ });
  t.notOk('request_id' in refused.received.at(-1)!, 'Error has no request_id');
});

t.test('KeepAlive, Finalize or any unknown text: Error UNPARSABLE_CLIENT_MESSAGE, then a close', async (t) => {
  const server = await serve(t);
  for (const text of ['{"type":"KeepAlive"}', '{"type":"Finalize"}', 'hello', '{"type":"Configure","features":{}}']) {
    const run = session(server.url, QUERY, (ws) => ws.send(text));
    t.equal(await run.closed, 1005, text);
    t.match(run.received.at(-1), { type: 'Error', code: 'UNPARSABLE_CLIENT_MESSAGE' });
  }
});

t.test('Configure: acknowledged in full, range-checked, and more than one pending is refused', async (t) => {
  // In order with the audio: behind 2 s of audio at 4x real time, the first is pending when the second comes.
  const server = await serve(t, { realtimeFactor: 4 });
  const run = session(server.url, `${QUERY}&keyterm=a`, (ws) => {
    for (const part of chunk(tones([2]), 3200)) ws.send(part);
    ws.send(JSON.stringify({ type: 'Configure', thresholds: { eager_eot_threshold: 0.5 } }));
    ws.send(JSON.stringify({ type: 'Configure', numerals: true }));
  });
  await until(() => run.received.some((m) => m.type === 'ConfigureSuccess'), 'the Configure acknowledged');
  run.received.splice(0, run.received.length, ...run.received.filter((m) => m.type.startsWith('Configure')));
  t.match(run.received, [
    { type: 'ConfigureFailure', code: 'TOO_MANY_PENDING_CONFIGURES' },
    {
      type: 'ConfigureSuccess',
      thresholds: { eot_threshold: 0.7, eot_timeout_ms: 5000, eager_eot_threshold: 0.5 },
      keyterms: ['a'],
      numerals: false,
    },
  ]);
  run.ws.send(JSON.stringify({ type: 'Configure', thresholds: { eot_threshold: 0.4 } }));
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.match(run.received.at(-1), { type: 'ConfigureFailure', code: 'INVALID_THRESHOLD', description: /0\.5 to 1/ });
  run.ws.send(JSON.stringify({ type: 'Configure', numerals: 'true' }));
  t.equal(await run.closed, 1005, 'a wrong JSON type is fatal');
});

t.test('handshake: 400 with Flux body for bad parameters, 401 with dg-request-id', async (t) => {
  const server = await serve(t, { apiKey: 'k' });
  const answer = async (query: string, key = 'k') => {
    const res = await upgrade(server.url, `/v2/listen?${query}`, { Authorization: `Token ${key}` });
    return { status: res.status, id: res.headers['dg-request-id'], body: res.body && JSON.parse(res.body) };
  };

  t.match(await answer('model=flux-general-en&language_hint=es'), {
    status: 400,
    id: /^[0-9a-f-]{36}$/,
    body: {
      code: 'INVALID_PARAMETER',
      description: 'language_hint is not supported for model flux-general-en: use flux-general-multi, or leave it out',
    },
  });
  t.match(await answer('model=flux-general-en&eot_threshold=1.01'), { status: 400 });
  t.match(await answer('model=flux-general-en&eot_threshold=1.0&eager_eot_threshold=0.3'), { status: 101 });
  t.match(await answer('model=flux-general-en', 'nope'), { status: 401, id: /^[0-9a-f-]{36}$/ });
});

t.test('idle: pings keep a session open; without them it closes after the inactivity timeout', async (t) => {
  const server = await serve(t, { inactivityTimeout: 300 });
  const run = session(server.url, QUERY, (ws) => {
    const pinger = setInterval(() => ws.ping(), 100);
    setTimeout(() => clearInterval(pinger), 800);
  });
  const started = Date.now();
  t.equal(await run.closed, 1011);
  t.ok(Date.now() - started >= 1000, 'open while pinged, closed 300 ms after the last ping');
});

t.test('flux-general-multi: languages and languages_hinted on every TurnInfo', async (t) => {
  const server = await serve(t);
  const run = session(
    server.url,
    'model=flux-general-multi&encoding=linear16&sample_rate=16000&language_hint=en&language_hint=es',
    audioThen(tones([0.5, 0.5]), { type: 'CloseStream' }),
  );
  await run.closed;
  const turns = run.received.filter((m) => m.type === 'TurnInfo');
  t.ok(turns.every((m) => Array.isArray(m.languages) && m.languages_hinted.join() === 'en,es'));
  t.same(turns.find((m) => m.transcript)?.languages, ['en']);
});

t.test(
  '@deepgram/sdk v5 listen.v2 runs its whole flow unchanged, and does not reconnect after CloseStream',
  async (t) => {
    let connections = 0;
    const server = await serve(t, {
      apiKey: 'sdk-key',
      script: SCRIPT,
      faults: () => void connections++,
    });
    const client = new DeepgramClient({ apiKey: 'sdk-key', baseUrl: server.url });
    const socket = await client.listen.v2.connect({
      model: 'flux-general-en',
      encoding: 'linear16',
      sample_rate: 16000,
    });
    const messages: Message[] = [];
    socket.on('message', (message: any) => messages.push(message));
    const closed = new Promise<number>((resolve) =>
      socket.on('close', (event: { code: number }) => resolve(event.code)),
    );
    socket.connect();
    await socket.waitForOpen();
    const arrived = (test: (m: Message) => boolean) => until(() => messages.some(test), 'the message answering it');
    for (const part of chunk(RAW.subarray(0, 5 * 32000), 2560)) socket.sendMedia(part);
    socket.sendConfigure({ type: 'Configure', thresholds: { eot_threshold: 0.8 } } as never);
    await arrived((m) => m.type === 'ConfigureSuccess');
    socket.sendForceEndTurn({ type: 'ForceEndTurn' });
    await arrived((m) => m.event === 'EndOfTurn' && m.trigger === 'manual');
    socket.sendCloseStream({ type: 'CloseStream' });
    t.equal(await closed, 1005);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    t.equal(connections, 1, 'the SDK did not reconnect');
    t.equal(messages[0].type, 'Connected');
    t.match(
      messages.find((m) => m.event === 'StartOfTurn'),
      { transcript: /^Hello/ },
    );
  },
);
