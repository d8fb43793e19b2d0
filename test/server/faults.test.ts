import t from 'tap';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { createListenStream } from '../../lib/index.js';
import { children, LINEAR16, readAll, seeded, serve, serveBuilt, tones, until } from '../helpers.js';

t.test('drop after N ms: the client sees 1006', async (t) => {
  const server = await serve(t, { faults: { dropAfterMs: 100 } });
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  listen.resume();
  const [error] = await once(listen, 'error');
  t.equal(error.closeCode, 1006);
});

t.test('added latency delays every message and the close', async (t) => {
  const server = await serve(t, { faults: { latencyMs: 300 } });
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  const started = performance.now();
  listen.end(tones([1, 0.5]));
  const messages = await readAll(listen);
  t.ok(performance.now() - started >= 300, 'nothing arrived before the latency');
  t.equal(messages[messages.length - 1].type, 'Metadata', 'and nothing was lost or reordered');
});

t.test('faults chosen per connection: only the first is dropped', async (t) => {
  const server = await serve(t, { faults: ({ index }) => (index === 0 ? { dropAfterBytes: 1 } : undefined) });
  const first = createListenStream({ url: server.url, query: LINEAR16 });
  first.resume();
  first.write(tones([0.5]));
  t.equal((await once(first, 'error'))[0].closeCode, 1006);
  const second = createListenStream({ url: server.url, query: LINEAR16 });
  second.end(tones([0.5]));
  const messages = await readAll(second);
  t.equal(messages[messages.length - 1].type, 'Metadata');
});

// The same fuzz against the server in this process and spread over two worker processes.
for (const workers of [0, 2]) {
  const where = workers ? ', through two worker processes' : '';
  t.test(`it never crashes: random frames, bad queries, huge frames, abrupt disconnects${where}`, async (t) => {
    const server = await (workers ? serveBuilt : serve)(t, { maxPayload: 1 << 20, workers });
    const next = seeded(7);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
    const queries = [
      '',
      '?encoding=linear16&sample_rate=16000',
      '?encoding=mulaw&sample_rate=8000&multichannel=true&channels=3',
      '?encoding=linear32&sample_rate=44100&interim_results=true&utterance_end_ms=1000&vad_events=true',
      '?%ff%fe=1&&&==',
      '?sample_rate=-1',
      '?encoding=opus&sample_rate=48000',
      '?model=nova-3&diarize=true&punctuate=true',
    ];
    const closes: number[] = [];
    let refused = 0;
    for (let round = 0; round < 60; round++) {
      const ws = new WebSocket(`${server.url}/v1/listen${queries[round % queries.length]}`);
      ws.on('error', () => {});
      const closed = new Promise<[number]>((resolve) => ws.on('close', (code) => resolve([code])));
      const opened = await new Promise<boolean>((resolve) => {
        ws.on('open', () => resolve(true));
        ws.on('close', () => resolve(false));
      });
      if (!opened) {
        refused++;
        continue;
      }
      const socket = (ws as unknown as { _socket: Socket })._socket;
      const frames = 1 + Math.floor(next() * 8);
      for (let f = 0; f < frames && ws.readyState === WebSocket.OPEN; f++) {
        const pick = next();
        if (pick < 0.4) ws.send(bytes(Math.floor(next() * 5000)));
        else if (pick < 0.6) ws.send(bytes(Math.floor(next() * 300)).toString('latin1'));
        else if (pick < 0.7) ws.send(JSON.stringify({ type: 'Finalize', channel: Math.floor(next() * 5) }));
        else if (pick < 0.75)
          ws.send(Buffer.alloc(2 << 20)); // over maxPayload
        else if (pick < 0.85) ws.send('{"type":"KeepAlive"}');
        else ws.send(Buffer.alloc(0));
      }
      const end = next();
      if (end < 0.4) socket.destroy();
      else if (end < 0.7) ws.send('{"type":"CloseStream"}');
      else ws.close(4000 + round);
      const [code] = await Promise.race([
        closed,
        new Promise<[number]>((r) =>
          setTimeout(() => {
            ws.terminate();
            r([-1]);
          }, 3000),
        ),
      ]);
      closes.push(code as number);
    }
    // Handshakes cut off half way.
    for (let i = 0; i < 10; i++) {
      const raw = connect(server.port, '127.0.0.1');
      await once(raw, 'connect');
      raw.write(
        `GET /v1/listen HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: ` +
          `Upgrade\r\n${i % 2 ? 'Sec-WebSocket-Version: 13\r\n' : ''}`,
      );
      raw.destroy();
    }
    t.equal(refused, 7, 'the one impossible query in eight was refused at the handshake (unknown keys are ignored)');
    t.equal(closes.length, 53, 'the rest were opened and fuzzed');
    t.ok(new Set(closes).size >= 4, `they ended in several ways: ${[...new Set(closes)].sort()}`);
    t.notOk(closes.includes(-1), 'every session ended by itself, none hung');
    t.ok(closes.includes(1009), 'a frame over the limit closes only its connection, with 1009');
    await until(() => server.connections === 0, 'no session is left open');
    t.equal(server.connections, 0, 'no session is left open');
    // FFmpeg runs under the process that holds the session: this one, or a worker.
    const holders = workers ? children(/server\/worker\.js/) : [process.pid];
    await until(() => holders.every((pid) => children(/ffmpeg/, pid).length === 0), 'no FFmpeg is left running');
    t.pass('no FFmpeg is left running');
    const listen = createListenStream({ url: server.url, query: LINEAR16 });
    listen.end(tones([1, 0.5]));
    const messages = await readAll(listen);
    t.equal(messages[messages.length - 1].type, 'Metadata', 'and the server still serves a normal session');
  });
}
