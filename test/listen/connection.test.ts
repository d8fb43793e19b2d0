// How a listen stream dials: an agent, extra headers and TLS options reach the upgrade request, and `open` says when
// a socket is open.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { createListenStream, DeepgramError, type OpenEvent } from '../../lib/index.js';
import { readAll } from '../helpers.js';

/** A stand-in /v1/listen on `server` that records each upgrade request and closes cleanly after CloseStream. */
async function standIn(server: ReturnType<typeof createHttpServer>) {
  const requests: IncomingMessage[] = [];
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, request) => {
    requests.push(request);
    ws.on('message', (data, binary) => {
      if (binary) return;
      ws.send(JSON.stringify({ type: 'Metadata', request_id: 'r', duration: 0, channels: 1 }));
      ws.close(1000);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, requests, close: () => (wss.close(), server.close()) };
}

t.test('an agent and extra headers go with the upgrade; open is emitted once the socket is open', async (t) => {
  const server = await standIn(createHttpServer());
  t.teardown(server.close);
  let dialled = 0;
  const agent = new (class extends Agent {
    override createConnection(...args: Parameters<Agent['createConnection']>) {
      dialled++;
      return super.createConnection(...args);
    }
  })();
  const listen = createListenStream({
    url: `ws://127.0.0.1:${server.port}`,
    apiKey: 'k',
    agent,
    headers: { 'x-trace-id': 'trace-1', authorization: 'not this one' },
  });
  const [opened] = (await once(listen, 'open')) as [OpenEvent];
  t.same(opened, { requestId: undefined, reconnected: false });
  listen.end();
  await readAll(listen);
  t.equal(dialled, 1, 'the agent made the connection');
  t.equal(server.requests[0].headers['x-trace-id'], 'trace-1');
  t.equal(server.requests[0].headers.authorization, 'Token k', "the credential's own Authorization wins");
});

t.test('TLS options: a private CA is trusted when given, and refused without it', async (t) => {
  const dir = t.testdir();
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  const server = await standIn(createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }));
  t.teardown(server.close);
  const url = `wss://127.0.0.1:${server.port}`;
  const trusted = createListenStream({ url, apiKey: 'k', tls: { ca: readFileSync(cert) } });
  trusted.end();
  t.match((await readAll(trusted)).at(-1), { type: 'Metadata' }, 'a session over TLS with the private CA');
  const untrusted = createListenStream({ url, apiKey: 'k' });
  untrusted.resume();
  const [error] = (await once(untrusted, 'error')) as [DeepgramError];
  t.match(error, { code: 'DG_CONNECT' }, 'without it, the certificate is refused');
});
