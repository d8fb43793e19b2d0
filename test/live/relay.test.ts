// The browser relay, with Node's ws client standing in for the browser: a session's words, the key kept on the
// server, authorization, limits, backpressure from the browser's socket, and every way a session ends.
import t from 'tap';
import type { Test } from 'tap';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import WebSocket, { WebSocketServer } from 'ws';
import { createRelay, type RelayOptions, type RelaySessionLog } from '../../lib/live/index.js';
import { createSpeakStream } from '../../lib/index.js';
import { REPLY_AUDIO } from '../../lib/live/relay-voice.js';
import {
  chunk,
  fixture,
  leaks,
  LINEAR16,
  pingFlood,
  serve,
  silentFlood,
  startRelay,
  stall,
  tones,
  until,
  upgrade,
} from '../helpers.js';
import { connect } from 'node:net';
import { get as httpGet } from 'node:http';

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
function browser(url: string, send: (ws: WebSocket) => void = () => {}, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const received: Record<string, unknown>[] = [];
  const texts: string[] = [];
  /** What the relay told the page first: what it transcribes with (kept apart from the session's messages). */
  const info: Record<string, unknown>[] = [];
  ws.on('message', (data) => {
    texts.push(data.toString());
    const message = JSON.parse(data.toString());
    (message.type === 'RelayInfo' && received.length === 0 ? info : received).push(message);
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
  return { ws, received, texts, info, done };
}

const spoken = (received: Record<string, unknown>[]) =>
  received
    .filter((m) => m.type === 'Results' && m.is_final)
    .flatMap((m) => (m as { channel: { alternatives: { words: { word: string }[] }[] } }).channel.alternatives[0].words)
    .map((w) => w.word);

// Each test has its own servers: they run side by side.
t.jobs = 4;

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
  t.same(session.info, [{ type: 'RelayInfo', model: 'the default model', backend: 'Deepgram', synthetic: false }]);
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
    idleTimeout: 1000, // the audio is taken first: a second, for a loaded machine's stall (see the idle tests below)
  });
  const first = browser(url, (ws) => ws.send(tones([1])));
  await once(first.ws, 'open');
  t.equal((await browser(url).done).status, 503);
  const ended = await first.done;
  t.same([ended.code, ended.reason], [1001, 'RELAY_IDLE']);
  t.same(
    first.received.slice(-2).map((m) => m.type),
    ['Metadata', 'RelayError'],
    'the session ended with its Metadata, and then the relay said why',
  );
  t.equal(first.received.at(-1)?.code, 'RELAY_IDLE');
  t.ok(spoken(first.received).length > 0, 'the idle session still delivered its finals');
  t.equal((await browser(url, (ws) => ws.send(Buffer.alloc(65 * 1024))).done).code, 1009);
  await until(() => r.connections === 0 && local.connections === 0, 'every slot and upstream session released');
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
  await until(() => r.connections === 0 && local.connections === 0, 'released');
  t.pass('released');
});

t.test(
  'backpressure: a relay whose Deepgram reads slowly stops reading the browser, and does not drop it',
  async (t) => {
    const local = await serve(t, { realtimeFactor: 1 });
    // Pings every 100 ms: a browser held for 1 s is not one gone silent, though its pongs cannot be read meanwhile.
    const liveness = { interval: 100, timeout: 300 };
    const { url } = await relay(t, { listen: { url: local.url, query: LINEAR16, highWaterMark: 64 * 1024 }, liveness });
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
    t.equal(session.ws.readyState, session.ws.OPEN, 'and kept it open');
    session.ws.terminate();
  },
);

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

t.test(
  'doors: a page from another origin or a foreign Host is refused (403); its own page and listed origins pass',
  async (t) => {
    const local = await serve(t);
    const { url } = await relay(t, { listen: { url: local.url, query: LINEAR16 }, origins: ['https://app.example'] });
    const own = `http://${new URL(url).host}`;
    const status = async (headers: Record<string, string>) => {
      const session = browser(url, (ws) => ws.close(), headers);
      return (await session.done).status ?? 'open';
    };
    t.equal(await status({ Origin: 'https://evil.example' }), 403, 'another site');
    t.equal(await status({ Origin: 'http://evil.example', Host: 'evil.example' }), 403, 'a rebound name');
    t.equal(await status({ Origin: own.replace('127.0.0.1', 'localhost') }), 403, 'another origin on this machine');
    t.equal(await status({ Origin: own }), 'open', 'its own page');
    t.equal(await status({ Origin: own, Host: new URL(url).host.replace('127.0.0.1', 'localhost') }), 403);
    t.equal(await status({ Origin: 'https://app.example' }), 'open', 'a listed origin');
    t.equal(await status({}), 'open', 'no Origin: no browser page');
    const named = await relay(t, { listen: { url: local.url, query: LINEAR16 }, hosts: ['dictation.example'] });
    const host = { Host: 'dictation.example', Origin: 'https://dictation.example' };
    t.equal((await browser(named.url, (ws) => ws.close(), host).done).status, undefined, 'a listed host');
  },
);

t.test(
  'resets mid-handshake with the slots full, a path not served, authorize slips: answered, never a crash',
  async (t) => {
    const local = await serve(t);
    let answer: unknown = true;
    const { url, relay: r } = await relay(t, {
      listen: { url: local.url, query: LINEAR16 },
      maxConnections: 2,
      authorize: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return answer as boolean;
      },
    });
    const { port } = new URL(url);
    const reset = async (path: string) => {
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      socket.resetAndDestroy();
    };
    for (let i = 0; i < 20; i++) await reset('/listen');
    await until(() => r.connections === 0, 'the reset upgrades gave their slots back');
    const other = await upgrade(url.replace('/listen', ''), '/elsewhere');
    t.equal(other.status, 404, 'a path it does not serve is answered at once');
    const notUrl = await upgrade(url.replace('/listen', ''), '//%%');
    t.equal(notUrl.status, 404, 'a target that is no URL (//%%): 404, not a crash');
    answer = undefined;
    t.equal((await browser(url).done).status, 500, 'authorize answering undefined: 500, not a crash');
    answer = true;
    const session = browser(url, (ws) => {
      ws.send(tones([1]));
      ws.send(JSON.stringify({ type: 'CloseStream' }));
    });
    t.equal((await session.done).code, 1000, 'and the relay still serves');
  },
);

t.test('the CLI relay: doors, resets, floods, and a graceful stop', async (t) => {
  // The relay in a process of its own (in front of its embedded local server), so that its memory is its own.
  const child = await startRelay(t, ['--local', '--max-connections', '3', '--max-per-address', '3']);
  void child.done.then(({ status, stderr }) => status && t.comment(`relay stderr: ${stderr}`));
  const { port } = new URL(child.page);
  const url = `ws://127.0.0.1:${port}/listen`;
  const page = async (host: string, path = '/') =>
    new Promise<number>((resolve, reject) =>
      httpGet({ host: '127.0.0.1', port, path, headers: { host } }, (res) => resolve(res.resume().statusCode!)).on(
        'error',
        reject,
      ),
    );
  t.equal(await page(`127.0.0.1:${port}`), 200, 'its own page is served');
  t.equal((await browser(url, () => {}, { Origin: 'https://evil.example' }).done).status, 403, 'another site: 403');
  t.equal((await browser(url, () => {}, { Host: `evil.example:${port}` }).done).status, 403, 'a foreign Host: 403');
  t.equal((await upgrade(`ws://127.0.0.1:${port}`, '/elsewhere')).status, 404, 'a path it does not serve: 404');
  t.equal((await upgrade(`ws://127.0.0.1:${port}`, '//%%')).status, 404, 'a target that is no URL (//%%): 404');
  t.equal(await page(`127.0.0.1:${port}`, '//%%'), 404, 'and as a page: 404, not a crash');

  const held = [0, 1, 2].map(() => browser(url));
  await Promise.all(held.map((s) => once(s.ws, 'open')));
  for (let i = 0; i < 10; i++) {
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `GET /listen HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    socket.resetAndDestroy(); // with every slot full
  }
  for (const session of held) session.ws.terminate();
  t.equal(child.child.exitCode, null, 'resets mid-handshake with the slots full: still running');
  // Sockets that say nothing, more than it holds (twice its sessions, or its sessions and 256): closed as they come.
  t.pass(`a flood of silent sockets: ${await silentFlood(Number(port), 259)} of 300 closed as they came`);
  let served = 0; // once the relay has seen them go, it takes sockets again
  for (const deadline = performance.now() + 5000; served !== 200 && performance.now() < deadline;)
    served = await page(`127.0.0.1:${port}`).catch(() => 0);
  t.equal(served, 200, 'and once they are gone, its page is served again');

  const rss = () => {
    if (child.child.exitCode !== null) throw new Error(`the relay exited: ${child.child.exitCode}`);
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.child.pid}/status`, 'utf8'))![1]) / 1024;
  };
  const grew = async (frame: (i: number) => string | Buffer, count: number) => {
    const session = browser(url);
    await once(session.ws, 'open');
    session.ws.pause(); // reads nothing the relay sends
    const before = rss();
    for (let i = 0; i < count; i++) session.ws.send(frame(i));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const mib = rss() - before;
    session.ws.terminate();
    return mib;
  };
  const finalize = JSON.stringify({ type: 'Finalize' });
  const only = await grew(() => finalize, 300_000);
  t.ok(only < 40, `300,000 Finalize from a browser that reads nothing: the relay grew ${only.toFixed(1)} MiB`);
  if (child.child.exitCode !== null) t.fail((await child.done).stderr);
  const mixed = await grew((i) => (i % 2 ? finalize : Buffer.alloc(320)), 300_000);
  t.ok(mixed < 40, `150,000 Finalize between audio: the relay grew ${mixed.toFixed(1)} MiB`);

  const live = browser(url, (ws) => ws.send(readFileSync(fixture('speech.webm'))));
  await until(() => live.received.some((m) => m.type === 'Results'), 'a session under way');
  child.child.kill('SIGTERM');
  t.same(Object.values(await live.done).slice(0, 2), [1001, 'RELAY_STOPPING'], 'SIGTERM ends the session gracefully');
  t.equal(live.received.at(-2)?.type, 'Metadata', 'with its last results');
  const { status, stderr } = await child.done;
  t.equal(status, 0);
  t.notMatch(stderr, /MaxListenersExceeded/, 'no warning from the flood');
  t.match(
    stderr,
    /relay: session from 127\.0\.0\.1, started .*, lasted [\d.]+ s, [\d.]+ s of audio, request [0-9a-f-]{36}, ok/,
  );
});

/**
 * An upstream that answers the upgrade after `answerAfter` ms and the CloseStream after `closeAfter` (its Metadata,
 * then a normal close), reading everything meanwhile.
 */
async function slowUpstream(t: Test, { answerAfter = 0, closeAfter = 0 }) {
  const upstream = createServer();
  const wss = new WebSocketServer({ noServer: true });
  upstream.on('upgrade', (request, socket, head) => {
    setTimeout(() => {
      wss.handleUpgrade(request, socket, head, (ws) =>
        ws.on('message', (data, binary) => {
          if (binary || !String(data).includes('CloseStream')) return;
          setTimeout(
            () => ws.send(JSON.stringify({ type: 'Metadata', duration: 1.5 }), () => ws.close(1000)),
            closeAfter,
          );
        }),
      );
    }, answerAfter);
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  t.teardown(() => upstream.close());
  return `ws://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

t.test('a stall of the relay past the idle timeout, with audio waiting unread in it, is not idle time', async (t) => {
  const local = await serve(t);
  const { url } = await relay(t, { listen: { url: local.url, query: LINEAR16 }, idleTimeout: 200 });
  const session = browser(url, (ws) => {
    ws.send(tones([0.1]));
    // In the loop's check phase, as a long callback may be: the relay's idle timer is due when the stall ends, and
    // the loop runs its timers before it reads the audio sent just before the stall.
    setTimeout(
      () =>
        setImmediate(() => {
          ws.send(tones([0.1]));
          stall(400);
          ws.send(JSON.stringify({ type: 'CloseStream' }));
        }),
      50,
    );
  });
  t.equal((await session.done).code, 1000, 'a clean close, not RELAY_IDLE');
  t.notOk(session.received.some((m) => m.type === 'RelayError'));
});

// The idle timeouts below are a second: the relay's idle verdict waits for what came in a stall, but the browser
// here is in the same process, and a loaded machine's stall between its frames is silence all the same.
t.test('idle is a deadline on audio: KeepAlive does not defeat it, and a finished session is not idle', async (t) => {
  const local = await serve(t, { realtimeFactor: 1.25 });
  const { url } = await relay(t, { listen: { url: local.url, query: LINEAR16 }, idleTimeout: 300 });
  const chatty = browser(url, (ws) => {
    ws.send(tones([0.5]));
    const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ type: 'KeepAlive' })), 50);
    ws.on('close', () => clearInterval(timer));
  });
  t.same(Object.values(await chatty.done).slice(0, 2), [1001, 'RELAY_IDLE'], 'KeepAlive every 50 ms: still idle');
  // An upstream that takes twice the idle timeout to close after CloseStream, reading all the audio at once.
  const target = await slowUpstream(t, { closeAfter: 2000 });
  const patient = await relay(t, { listen: { url: target, query: LINEAR16 }, idleTimeout: 1000 });
  // Less audio than the session takes at once: the browser is not held back, the idle timeout alone is at work.
  const finished = browser(patient.url, (ws) => {
    ws.send(tones([0.3]));
    ws.send(JSON.stringify({ type: 'CloseStream' }));
  });
  t.equal((await finished.done).code, 1000, 'a clean close, not RELAY_IDLE');
  t.notOk(finished.received.some((m) => m.type === 'RelayError'));
});

t.test('time the session holds the browser back (Deepgram not open yet) is not idle time', async (t) => {
  // An upstream that takes twice the idle timeout to answer the upgrade.
  const target = await slowUpstream(t, { answerAfter: 2000 });
  const { url } = await relay(t, { listen: { url: target, query: LINEAR16 }, idleTimeout: 1000 });
  // More audio than the session takes at once: the relay stops reading the browser until it has gone upstream, and
  // the CloseStream sent after it waits unread meanwhile.
  const session = browser(url, (ws) => {
    ws.send(tones([1.5]));
    setTimeout(() => ws.send(JSON.stringify({ type: 'CloseStream' })), 100);
  });
  t.equal((await session.done).code, 1000, 'a clean close, not RELAY_IDLE');
});

t.test('failures the browser sees: no internal address; undecodable audio is the decode error', async (t) => {
  const unreachable = await relay(t, { listen: { url: 'ws://127.0.0.1:1', query: LINEAR16 } });
  const refused = browser(unreachable.url, (ws) => ws.send(tones([0.2])));
  t.equal((await refused.done).code, 1011);
  t.match(refused.received[0], { type: 'RelayError', code: 'DG_CONNECT' });
  t.notMatch(refused.texts.join(''), /127\.0\.0\.1/, "nothing of the relay's network");

  const local = await serve(t);
  // The browser sends nothing after its garbage: the idle timeout ends the session, and the decode failure its close
  // brings is what the browser is told. The garbage is taken first: a second, for a stall's sake.
  const { url } = await relay(t, { listen: { url: local.url }, idleTimeout: 1000 });
  const garbage = browser(url, (ws) => ws.send(Buffer.alloc(20_000, 0x5a)));
  t.equal((await garbage.done).code, 1011);
  t.match(garbage.received.at(-1), { type: 'RelayError', code: 'DG_CLOSE' }, 'the decode failure, not RELAY_IDLE');
});

t.test('limits the operator sets: a longest session, sessions per address', async (t) => {
  const local = await serve(t, { realtimeFactor: 1.25 });
  const { url } = await relay(t, { listen: { url: local.url, query: LINEAR16 }, maxSessionMs: 400, maxPerAddress: 1 });
  const long = browser(url, (ws) => {
    const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(tones([0.1])), 100);
    ws.on('close', () => clearInterval(timer));
  });
  await once(long.ws, 'open');
  const second = browser(url);
  t.same(Object.values(await second.done).slice(0, 2), [1008, 'RELAY_LIMIT'], 'a second session from the address');
  t.match(second.received, [{ type: 'RelayError', code: 'RELAY_LIMIT', message: /at most 1 session/ }]);
  t.same(Object.values(await long.done).slice(0, 2), [1008, 'RELAY_SESSION_LIMIT']);
  t.same(
    long.received.slice(-2).map((m) => m.type),
    ['Metadata', 'RelayError'],
    'ended with its last results',
  );
});

t.test('close() ends every session with its last results, RELAY_STOPPING and 1001; one log line each', async (t) => {
  const local = await serve(t, { realtimeFactor: 1.25 });
  const logs: RelaySessionLog[] = [];
  const server = createServer();
  const r = createRelay({
    server,
    listen: { url: local.url, apiKey: KEY, query: LINEAR16 },
    onSession: (l) => logs.push(l),
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/listen`;
  const sessions = [0, 1].map(() => browser(url, (ws) => ws.send(tones([1, 0.5, 1])), {}));
  await Promise.all(sessions.map((s) => once(s.ws, 'open')));
  await until(() => sessions.every((s) => s.received.length > 0), 'both sessions under way');
  await r.close(5000);
  for (const session of sessions) {
    t.same(Object.values(await session.done).slice(0, 2), [1001, 'RELAY_STOPPING']);
    t.same(
      session.received.slice(-2).map((m) => m.type),
      ['Metadata', 'RelayError'],
    );
  }
  await until(() => logs.length === 2, 'a log line per session');
  t.match(logs[0], { address: '127.0.0.1', audioSeconds: 2.5, requestId: /^[0-9a-f-]{36}$/ });
  t.ok(logs[0].ended >= logs[0].started);
  t.same(leaks(KEY, logs), []);
});

t.test('a browser that stops answering pings is closed', async (t) => {
  const local = await serve(t);
  const { url, relay: r } = await relay(t, {
    listen: { url: local.url, query: LINEAR16 },
    liveness: { interval: 100, timeout: 300 },
  });
  const session = browser(url, (ws) => ws.send(tones([0.2])));
  await once(session.ws, 'open');
  await until(() => r.connections === 1, 'the session under way');
  (session.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // a browser that went away silently
  await until(() => r.connections === 0, 'the silent browser closed', 5000);
  t.pass('closed');
  session.ws.terminate();
});

t.test('a browser that floods pings and never reads the pongs is cut off', async (t) => {
  const local = await serve(t);
  const { url, relay: r } = await relay(t, { listen: { url: local.url, query: LINEAR16 } });
  const session = browser(url);
  await once(session.ws, 'open');
  await until(() => r.connections === 1, 'the session under way');
  const { code, pings } = await pingFlood(session.ws);
  t.equal(code, 1006, `cut off after ${pings} pings`);
  await until(() => r.connections === 0, 'its session ended');
});

t.test('a relay that answers says the reply to the last turn before it closes the socket', async (t) => {
  const local = await serve(t, { script: 'hello there', speak: { ttfbMs: 0 } });
  const answer = 'Yes, I heard you.';
  const { url } = await relay(t, { listen: { url: local.url, query: LINEAR16 }, reply: () => answer });
  // What the whole reply is, said alone by the same server in the same format.
  const alone = createSpeakStream({ url: local.url, query: { model: 'aura-2-thalia-en', ...REPLY_AUDIO } });
  alone.end(answer);
  let expected = 0;
  for await (const audio of alone) expected += (audio as Buffer).length;
  const ws = new WebSocket(url);
  let replyBytes = 0;
  let finals = 0;
  ws.on('message', (data: Buffer, binary) => {
    if (binary) replyBytes += data.length;
    else if (JSON.parse(data.toString()).is_final) finals++;
  });
  await once(ws, 'open');
  for (const piece of chunk(tones([0.4, 0.3, 0.4, 0.8]), 3200)) ws.send(piece);
  ws.send(JSON.stringify({ type: 'CloseStream' }));
  const [code] = await once(ws, 'close');
  t.equal(code, 1000);
  t.ok(finals > 0, 'the turn was transcribed');
  t.ok(expected > 0);
  t.equal(replyBytes, expected, `every byte of the last reply came before the close (${expected} bytes)`);
});
