import t from 'tap';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createListenStream } from '../../lib/index.js';
import { LINEAR16, readAll, serve, sha256, tones } from '../helpers.js';

t.test('bad input on the client side: each a clear error or a no-op, and nothing accepted is lost', async (t) => {
  const server = await serve(t);
  const audio = tones([1]);
  const listen = createListenStream({ url: server.url, query: LINEAR16 });
  t.throws(() => listen.write(42 as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'a number is refused at write()');
  t.throws(() => listen.write({ audio } as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'so is an object');
  listen.write(audio);
  listen.end();
  listen.end(); // a second end is a no-op
  await once(listen, 'finish');
  t.throws(() => listen.finalize(), { code: 'DG_CLOSED', message: /after CloseStream/ }, 'control messages after CloseStream say why they cannot go');
  const all = await readAll(listen);
  t.equal(all[all.length - 1].type, 'Metadata');
  t.equal(listen.metadata?.sha256, sha256(audio), 'what was accepted before end() arrived whole');

  const late = createListenStream({ url: server.url, query: LINEAR16 });
  late.end(audio);
  late.write(Buffer.alloc(10));
  const [error] = await once(late, 'error');
  t.equal(error.code, 'ERR_STREAM_WRITE_AFTER_END', 'a write after end is an error, as for any Node stream');
});

t.test('hundreds of concurrent streams in one process', async (t) => {
  const server = await serve(t);
  const audio = tones([0.3, 0.2]);
  const streams = Array.from({ length: 300 }, async () => {
    const listen = createListenStream({ url: server.url, query: LINEAR16 });
    listen.end(audio);
    const messages = await readAll(listen);
    return listen.metadata?.sha256 === sha256(audio) && messages[messages.length - 1].type === 'Metadata';
  });
  const done = await Promise.all(streams);
  t.equal(done.filter(Boolean).length, 300, 'all 300 completed with their Metadata');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(server.connections, 0);
});

t.test('NODE_DEBUG lines tell what happens and never show the key', async (t) => {
  const key = 'debug-secret-key-42';
  const script = `
    import { createListenStream, startServer } from ${JSON.stringify(fileURLToPath(new URL('../../lib/index.ts', import.meta.url)))};
    const server = await startServer({ realtimeFactor: false, faults: ({ index }) => index === 0 ? { dropAfterBytes: 1 } : undefined });
    const listen = createListenStream({ url: server.url, apiKey: ${JSON.stringify(key)}, reconnect: { attempts: 2, backoff: { initial: 1 } },
      query: { encoding: 'linear16', sample_rate: 16000 } });
    listen.resume();
    listen.end(Buffer.alloc(32000));
    await new Promise((resolve) => listen.on('close', resolve));
    await server.close();
  `;
  const run = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script],
    { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'deepgram-stream' }, timeout: 30_000 });
  t.match(run.stderr, /DEEPGRAM-STREAM \d+: connecting/);
  t.match(run.stderr, /reconnecting after 1006/);
  t.match(run.stderr, /replayed \d+ bytes/);
  t.notMatch(run.stderr + run.stdout, key);
});

t.test('a reconnect never shows the key either: errors after failed reconnects', async (t) => {
  const key = 'reconnect-secret-99';
  const server = await serve(t, { faults: { dropAfterBytes: 1 } });
  const listen = createListenStream({ url: server.url, apiKey: key, query: LINEAR16, reconnect: { attempts: 1, backoff: { initial: 1 } } });
  listen.resume();
  listen.write(tones([0.2]));
  const [error] = await once(listen, 'error');
  t.notMatch(JSON.stringify(error) + error.message + error.stack, key);
});
