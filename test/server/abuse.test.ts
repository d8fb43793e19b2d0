// The local server under abuse: no client can take a slot for good, starve the event loop, or make it hold
// unbounded memory; nothing a client sends reaches a response header unescaped.
import t from 'tap';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { createListenStream } from '../../lib/index.js';
import { Fifo } from '../../lib/server/fifo.js';
import { LINEAR16, pingFlood, readAll, serve, serveBuilt, silentFlood, tones, until, wavClaiming } from '../helpers.js';

/** Sends raw HTTP and returns everything the server answered until it closed. */
async function rawRequest(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.end(text);
  let answer = '';
  socket.on('data', (c) => (answer += c));
  socket.on('error', () => {});
  await once(socket, 'close');
  return answer;
}

/** A real client's short session: the type of the last message it read (Metadata, when it got in and out). */
async function lastMessageType(url: string): Promise<string | undefined> {
  const listen = createListenStream({ url, query: LINEAR16 });
  listen.end(tones([0.2]));
  return (await readAll(listen)).pop()?.type;
}

t.test('a rejected upgrade never keeps a connection slot', async (t) => {
  const server = await serve(t, { maxConnections: 3 });
  const bad = [
    'GET /v1/listen HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: ' +
      '13\r\n\r\n',
    'POST /v1/listen HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ' +
      'dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    'GET /v1/listen HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: carrier-pigeon\r\nSec-WebSocket-Key: ' +
      'dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  ];
  for (let i = 0; i < 30; i++) await rawRequest(server.port, bad[i % bad.length]);
  t.equal(server.connections, 0, 'no slot held after 30 refused upgrades');
  t.equal(await lastMessageType(server.url), 'Metadata', 'a real client still gets in');
});

/**
 * A request trickled in, a header every half second: what the server answered, and when it closed (ms); given up on
 * (destroyed) after 20 s.
 */
async function trickled(port: number): Promise<{ answer: string; ms: number }> {
  const slow = connect(port, '127.0.0.1');
  let answer = '';
  slow.on('data', (chunk) => (answer += chunk)).on('error', () => {});
  await once(slow, 'connect');
  const started = performance.now();
  slow.write('GET /v1/listen HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => slow.writable && slow.write('X-Slow: 1\r\n'), 500);
  const giveUp = setTimeout(() => slow.destroy(), 20_000);
  await once(slow, 'close');
  clearInterval(trickle);
  clearTimeout(giveUp);
  return { answer, ms: performance.now() - started };
}

t.test('sockets that never finish a request are bounded: in number (closed as they come) and in time', async (t) => {
  const server = await serve(t, { maxConnections: 1 });
  const spread = await serveBuilt(t, { workers: 1, maxConnections: 1 });
  // The trickle does not put the deadline off, in this process or in a worker.
  const slow = [trickled(server.port), trickled(spread.port)];
  // More sockets than it holds (twice its sessions, or its sessions and 256), saying nothing: a worker, which never
  // accepts (its primary hands it each socket), holds no more than this process does.
  t.pass(`${await silentFlood(server.port, 256)} of 300 closed as they came`);
  t.pass(`with a worker: ${await silentFlood(spread.port, 256)} of 300 closed as they came`);
  const [alone, worker] = await Promise.all(slow);
  for (const [where, { answer, ms }] of [
    ['in one process', alone],
    ['in a worker', worker],
  ] as const) {
    t.match(answer, /^HTTP\/1\.1 408 /, `the trickled request ${where}: 408`);
    // Node looks each second; a loaded machine may look later still. Without the deadline it would be 20 s, given up.
    t.ok(ms > 9_500 && ms < 15_000, `then closed, ${Math.round(ms)} ms after it began (its deadline: 10 s)`);
  }
  t.equal(await lastMessageType(server.url), 'Metadata', 'a real client still gets in');
});

t.test('a query value with CR/LF never splits the response: it is escaped in dg-error', async (t) => {
  const server = await serve(t);
  const answer = await rawRequest(
    server.port,
    'GET /v1/listen?encoding=linear16&sample_rate=1%0D%0AX-Evil:%201 HTTP/1.1\r\n' +
      'Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ' +
      'dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
  t.match(head, /^HTTP\/1\.1 400 /);
  t.notMatch(head, /^X-Evil/im, "no header of the client's making");
  t.match(head, /dg-error: Bad Request: sample_rate must be a whole number of Hz, not "1%0D%0AX-Evil: 1"/);
});

t.test('a request target that is no URL (GET //%%) is a 404, plain or upgrade, and the server goes on', async (t) => {
  const server = await serve(t);
  const upgrade =
    'Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    'Sec-WebSocket-Version: 13\r\n\r\n';
  for (const target of ['//%%', '//[']) {
    t.match(await rawRequest(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 404 /);
    t.match(await rawRequest(server.port, `GET ${target} HTTP/1.1\r\n${upgrade}`), /^HTTP\/1\.1 404 /);
  }
  t.equal(await lastMessageType(server.url), 'Metadata', 'a real client still gets in');
});

t.test('the inactivity timer stops while the server itself holds the socket', async (t) => {
  // Each 2.5 s frame fills the queue, so the throttled server stops reading for about a second at a time: far
  // longer than the inactivity timeout, though the client was never idle.
  const server = await serve(t, { realtimeFactor: 2.5, inactivityTimeout: 400 });
  const listen = createListenStream({
    url: server.url,
    query: LINEAR16,
    keepAlive: false,
  });
  for (let i = 0; i < 3; i++) listen.write(tones([2.5]));
  listen.end();
  const messages = await readAll(listen);
  t.equal(messages.pop()?.type, 'Metadata', 'a normal close, not 1011 NET-0001');
  t.equal(listen.metadata?.duration, 7.5);
});

t.test('a client that sends without reading cannot make the server read or hold without bound', async (t) => {
  const server = await serve(t, { realtimeFactor: 1 });
  const bufferedAfter = async (frame: (i: number) => string | Buffer, first?: Buffer, count = 3000) => {
    const ws = new WebSocket(`${server.url}/v1/listen?encoding=linear16&sample_rate=16000`);
    t.teardown(() => ws.terminate());
    await once(ws, 'open');
    ws.pause(); // never reads what the server sends
    if (first) ws.send(first);
    for (let i = 0; i < count; i++) ws.send(frame(i));
    await sleep(500);
    return ws.bufferedAmount;
  };
  const big = 'x'.repeat(10_000);
  // Sync items wait behind throttled audio; SchemaErrors echo each invalid frame back to a client that never reads.
  const syncs = await bufferedAfter(() => `{"type":"Sync","id":"${big}"}`, tones([30]));
  t.ok(syncs > 10_000_000, `the server stopped reading Sync frames (${syncs} bytes still with the client)`);
  // Each answer echoes at most 1 KiB of its frame, so frames of 1 KiB take the longest to refuse.
  const invalid = await bufferedAfter(() => `not json ${big.slice(0, 1000)}`, undefined, 20_000);
  t.ok(invalid > 5_000_000, `the server stopped reading invalid frames (${invalid} bytes still with the client)`);
});

t.test('a client that floods pings and never reads the pongs is cut off, not answered into memory', async (t) => {
  const server = await serve(t);
  const ws = new WebSocket(`${server.url}/v1/listen?encoding=linear16&sample_rate=16000`);
  t.teardown(() => ws.terminate());
  await once(ws, 'open');
  // ws answers each ping with a pong, and cuts off a client that leaves 60 of them unsent (a version of ws without
  // that bound would fail here).
  const { code, pings } = await pingFlood(ws);
  t.equal(code, 1006, `cut off after ${pings} pings`);
  t.equal(await lastMessageType(server.url), 'Metadata', 'a real client still gets in');
});

t.test(
  'FFmpeg output is held while the queue is full: a WAV that claims 1 Hz cannot expand without bound',
  async (t) => {
    const server = await serve(t);
    const wav = wavClaiming(1); // 100,000 samples become 100,000 s at the server's 16 kHz
    const ws = new WebSocket(`${server.url}/v1/listen`);
    t.teardown(() => ws.terminate());
    await once(ws, 'open');
    ws.pause();
    const before = process.memoryUsage().rss;
    ws.send(wav);
    await sleep(2000);
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    t.ok(grown < 100, `the server grew by ${grown.toFixed(1)} MiB, not by gigabytes`);
  },
);

t.test('a session that sent CloseStream closes by the deadline, whatever it still holds', async (t) => {
  const server = await serve(t, { realtimeFactor: 1.25, closeDeadline: 300 });
  const listen = createListenStream({ url: server.url, query: { encoding: 'linear16', sample_rate: 1 } });
  listen.write(Buffer.alloc(1 << 19, 1)); // two frames of 512 KiB at 1 Hz: the second waits three days
  listen.end(Buffer.alloc(1 << 19, 1));
  const error = await readAll(listen).then(
    () => undefined,
    (e) => e,
  );
  t.equal(error?.closeCode, 1011, 'NET-0000: the server gave up, and said so');
  await until(() => server.connections === 0, 'the slot is free');
  t.equal(server.connections, 0, 'and the slot is free');
});

t.test(
  'a client that stops reading holds its session only for the inactivity timeout, whatever it sends',
  async (t) => {
    const server = await serve(t, { inactivityTimeout: 400 });
    const url = `${server.url}/v1/listen?encoding=linear16&sample_rate=16000`;
    const sockets = Array.from({ length: 5 }, () => new WebSocket(url));
    await Promise.all(sockets.map((ws) => once(ws, 'open')));
    const started = performance.now();
    // Each Sync's id comes back in its answer: 12 MB of answers that are never read, so the server holds the socket.
    const sync = JSON.stringify({ type: 'Sync', id: 'x'.repeat(60_000) });
    for (const ws of sockets) {
      ws.pause();
      t.teardown(() => ws.terminate());
      for (let i = 0; i < 200; i++) ws.send(sync);
      // More frames every 50 ms: traffic that must not move the deadline.
      const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(sync), 50);
      t.teardown(() => clearInterval(timer));
    }
    // The clients read nothing, so they never see the close: the server's count says it let go of them.
    await until(() => server.connections === 0, 'every held session ended', 5000);
    t.ok(
      performance.now() - started < 4000,
      `within the inactivity timeout of the server holding each, not 30 s (${performance.now() - started})`,
    );
  },
);

t.test('a SchemaError echoes at most 1 KiB of the frame it refuses', async (t) => {
  const server = await serve(t);
  const ws = new WebSocket(`${server.url}/v1/listen?encoding=linear16&sample_rate=16000`);
  t.teardown(() => ws.terminate());
  await once(ws, 'open');
  ws.send(`"${'\\'.repeat(1 << 20)}`);
  const [data] = await once(ws, 'message');
  const error = JSON.parse(String(data));
  t.equal(error.variant, 'SchemaError');
  t.ok(error.message.length <= 1025, `the echo is ${error.message.length} characters, not 2 MiB escaped`);
  t.ok(String(data).length < 4096);
});

t.test('Flux: a Configure with unknown keys in thresholds is refused, not kept and echoed', async (t) => {
  const server = await serve(t);
  const ws = new WebSocket(`${server.url}/v2/listen?model=flux-general-en&encoding=linear16&sample_rate=16000`);
  t.teardown(() => ws.terminate());
  const messages: { type: string; code?: string }[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  await once(ws, 'open');
  const thresholds = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
  ws.send(JSON.stringify({ type: 'Configure', thresholds }));
  await once(ws, 'close');
  t.match(
    messages.at(-1),
    { type: 'Error', code: 'UNPARSABLE_CLIENT_MESSAGE' },
    'a fatal error, as for an unknown field',
  );
  t.notOk(messages.some((m) => m.type === 'ConfigureSuccess'));
});

t.test('Fifo: takes in order, stays correct across compaction', async (t) => {
  const fifo = new Fifo<number>();
  const out: number[] = [];
  for (let i = 0; i < 5000; i++) {
    fifo.push(i);
    if (i % 3 === 0) out.push(fifo.take()!);
  }
  while (fifo.length > 0) out.push(fifo.take()!);
  t.same(
    out,
    Array.from({ length: 5000 }, (_, i) => i),
  );
  t.equal(fifo.take(), undefined);
});
