// The browser relay, with Node's ws client standing in for the browser: a session's words, the key kept on the
// server, authorization, limits, backpressure from the browser's socket, and every way a session ends.
import t from 'tap';
import type { Test } from 'tap';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { createRelay, type RelayOptions } from '../../lib/index.js';
import { chunk, fixture, leaks, LINEAR16, serve, tones } from '../helpers.js';

const KEY = 'relay-secret-key-0123456789';
const WEBM = readFileSync(fixture('speech.webm'));
const SCRIPT = readFileSync(fixture('speech.txt'), 'utf8');

async function relay(t: Test, options: RelayOptions) {
  const server = createServer((_request, response) => response.writeHead(404).end());
  const relay = createRelay({ ...options, server });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(async () => {
    await relay.close();
    server.close();
  });
  return { relay, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/listen` };
}

/** A browser's session: what it received (parsed), the close code and reason, and any refusal's status. */
function browser(url: string, send: (ws: WebSocket) => void = () => {}) {
  const ws = new WebSocket(url);
  const received: Record<string, unknown>[] = [];
  const texts: string[] = [];
  ws.on('message', (data) => {
    texts.push(data.toString());
    received.push(JSON.parse(data.toString()));
  });
  ws.on('open', () => send(ws));
  const done = new Promise<{ code: number; reason: string; status?: number }>((resolve) => {
    ws.on('unexpected-response', (_request, response) => {
      resolve({ code: 0, reason: '', status: response.statusCode });
      ws.terminate();
    });
    ws.on('error', () => {});
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  return { ws, received, texts, done };
}

const spoken = (received: Record<string, unknown>[]) =>
  received
    .filter((m) => m.type === 'Results' && m.is_final)
    .flatMap((m) => (m as { channel: { alternatives: { words: { word: string }[] }[] } }).channel.alternatives[0].words)
    .map((w) => w.word);

t.test(
  'a browser session: WebM slices in, every final and Metadata out, a clean close; the key in nothing',
  async (t) => {
    const local = await serve(t, { apiKey: KEY, script: SCRIPT });
    const { url } = await relay(t, { listen: { url: local.url, apiKey: KEY } });
    const session = browser(url, (ws) => {
      for (const slice of chunk(WEBM, 4000)) ws.send(slice);
      ws.send(JSON.stringify({ type: 'CloseStream' }));
    });
    const { code } = await session.done;
    t.equal(code, 1000);
    t.same(spoken(session.received), SCRIPT.toLowerCase().replace(/[.,]/g, '').split(/\s+/).filter(Boolean));
    t.equal(session.received.at(-1)?.type, 'Metadata');
    t.same(leaks(KEY, session.texts), []);
  },
);

t.test('the key stays on the server when Deepgram refuses it: one RelayError, then 1011', async (t) => {
  const local = await serve(t, { apiKey: 'another-key' });
  const { url } = await relay(t, { listen: { url: local.url, apiKey: KEY } });
  const session = browser(url, (ws) => ws.send(WEBM.subarray(0, 4000)));
  const { code, reason } = await session.done;
  t.equal(code, 1011);
  t.equal(reason, 'DG_HANDSHAKE');
  t.same(
    session.received.map((m) => [m.type, m.code]),
    [['RelayError', 'DG_HANDSHAKE']],
  );
  t.match(session.received[0].message, /401/);
  t.same(leaks(KEY, session.texts), []);
});

t.test('authorize: refused is 401 before any upgrade; a grant sets the query of its connection', async (t) => {
  const local = await serve(t);
  const { url } = await relay(t, {
    listen: { url: local.url, query: LINEAR16 },
    authorize: (request) => {
      const token = new URL(request.url!, 'http://x').searchParams.get('token');
      return token === 'live' ? { query: { interim_results: true } } : token === 'plain';
    },
  });
  t.equal((await browser(`${url}?token=wrong`).done).status, 401);
  t.equal(local.connections, 0, 'nothing was dialled for a refused browser');
  const audio = tones([2.5]);
  const run = async (token: string) => {
    const session = browser(`${url}?token=${token}`, (ws) => {
      ws.send(audio);
      ws.send(JSON.stringify({ type: 'CloseStream' }));
    });
    t.equal((await session.done).code, 1000);
    return session.received.filter((m) => m.type === 'Results' && !m.is_final).length;
  };
  t.ok((await run('live')) > 0, 'interim results with the grant');
  t.equal(await run('plain'), 0, 'none without it');
});

t.test('the browser cannot reach another URL or key: its query string is not passed on', async (t) => {
  const local = await serve(t, { apiKey: KEY });
  const { url } = await relay(t, { listen: { url: local.url, apiKey: KEY, query: LINEAR16 } });
  const session = browser(`${url}?encoding=mulaw&token=x&url=ws://elsewhere`, (ws) => {
    ws.send(tones([1.5]));
    ws.send(JSON.stringify({ type: 'CloseStream' }));
  });
  t.equal((await session.done).code, 1000);
  t.ok(spoken(session.received).length > 0, 'linear16 as the relay said, so tones are words');
});

t.test('limits: connections (503), frame size (1009), idle browser (RELAY_IDLE, then 1001)', async (t) => {
  const local = await serve(t);
  const { relay: r, url } = await relay(t, {
    listen: { url: local.url, query: LINEAR16 },
    maxConnections: 1,
    maxFrameBytes: 64 * 1024,
    idleTimeout: 300,
  });
  const first = browser(url, (ws) => ws.send(tones([1])));
  await once(first.ws, 'open');
  t.equal((await browser(url).done).status, 503);
  const ended = await first.done;
  t.same([ended.code, ended.reason], [1001, 'RELAY_IDLE']);
  t.equal(first.received[0].code, 'RELAY_IDLE');
  t.ok(spoken(first.received).length > 0, 'the idle session still delivered its finals');
  t.equal((await browser(url, (ws) => ws.send(Buffer.alloc(65 * 1024))).done).code, 1009);
  while (r.connections > 0 || local.connections > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  t.pass('every slot and upstream session released');
});

t.test('a message the relay does not take: RELAY_MESSAGE, then 1003', async (t) => {
  const local = await serve(t);
  const { url } = await relay(t, { listen: { url: local.url, query: LINEAR16 } });
  const session = browser(url, (ws) => ws.send(JSON.stringify({ type: 'Configure', url: 'ws://elsewhere' })));
  t.equal((await session.done).code, 1003);
  t.same(
    session.received.map((m) => m.code),
    ['RELAY_MESSAGE'],
  );
});

t.test('the browser going away ends its session upstream (CloseStream), nothing left open', async (t) => {
  const local = await serve(t);
  const { relay: r, url } = await relay(t, { listen: { url: local.url, query: LINEAR16 } });
  const session = browser(url, (ws) => {
    ws.send(tones([1]));
    setTimeout(() => ws.close(), 100);
  });
  t.equal((await session.done).code, 1005);
  while (r.connections > 0 || local.connections > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  t.pass('released');
});

t.test('backpressure: a relay whose Deepgram reads slowly stops reading the browser', async (t) => {
  const local = await serve(t, { realtimeFactor: 1 });
  const { url } = await relay(t, { listen: { url: local.url, query: LINEAR16, highWaterMark: 64 * 1024 } });
  const audio = Buffer.alloc(16 * 1024 * 1024); // 8 minutes of silence, taken at 32 KB a second
  const session = browser(url, (ws) => {
    for (const part of chunk(audio, 16 * 1024)) ws.send(part);
  });
  await once(session.ws, 'open');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.ok(
    session.ws.bufferedAmount > 8 * 1024 * 1024,
    `${session.ws.bufferedAmount} bytes still wait at the browser: the relay stopped reading it`,
  );
  session.ws.terminate();
});

t.test(
  'with a Flux model: a Flux session per browser, its TurnInfo out, the last turn ended, a clean close',
  async (t) => {
    const local = await serve(t, { script: SCRIPT });
    const { url } = await relay(t, { listen: { url: local.url, query: { model: 'flux-general-en' } } });
    const session = browser(url, (ws) => {
      for (const slice of chunk(WEBM, 4000)) ws.send(slice);
      ws.send(JSON.stringify({ type: 'CloseStream' }));
    });
    t.equal((await session.done).code, 1000);
    const ends = session.received.filter((m) => m.event === 'EndOfTurn');
    t.match(ends.map((m) => m.transcript).join(' '), /^Hello world\. This is a test/);
    const spokenTurns = session.received.filter((m) => m.type === 'TurnInfo' && m.transcript);
    t.equal(spokenTurns.at(-1)?.event, 'EndOfTurn', 'no turn is left open');
    t.match(session.received.at(-1), { type: 'Metadata', turns: ends.length });
  },
);
