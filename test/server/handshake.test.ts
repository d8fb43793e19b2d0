import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { serve, upgrade } from '../helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('header auth with Token, token or Bearer; dg-request-id on the 101', async (t) => {
  const server = await serve(t, { apiKey: 'k1' });
  for (const authorization of ['Token k1', 'token k1', 'Bearer k1']) {
    const res = await upgrade(server.url, '/v1/listen', { Authorization: authorization });
    t.equal(res.status, 101, authorization);
    t.match(res.headers['dg-request-id'], UUID);
  }
});

t.test('subprotocol auth: the server echoes token (or bearer), as browsers and ws require', async (t) => {
  const server = await serve(t, { apiKey: 'k1' });
  for (const scheme of ['token', 'bearer']) {
    const ws = new WebSocket(`${server.url}/v1/listen`, [scheme, 'k1']);
    await once(ws, 'open');
    t.equal(ws.protocol, scheme);
    ws.close();
  }
});

t.test('401: JSON body, dg-error and dg-request-id, for a wrong or a missing key', async (t) => {
  const server = await serve(t, { apiKey: ['k1', 'k2'] });
  for (const headers of [{ Authorization: 'Token nope' }, {}] as Record<string, string>[]) {
    const res = await upgrade(server.url, '/v1/listen', headers);
    t.equal(res.status, 401);
    t.equal(res.headers['content-type'], 'application/json');
    t.equal(res.headers['dg-error'], 'Invalid credentials.');
    const id = res.headers['dg-request-id'] as string;
    t.match(id, UUID);
    t.same(JSON.parse(res.body), { err_code: 'INVALID_AUTH', err_msg: 'Invalid credentials.', request_id: id });
  }
  t.equal(
    (await upgrade(server.url, '/v1/listen', { Authorization: 'Token k2' })).status,
    101,
    'every listed key works',
  );
});

t.test('400 for a query that cannot work, saying why', async (t) => {
  const server = await serve(t);
  for (const query of [
    'encoding=linear16',
    'encoding=mp5&sample_rate=8000',
    'utterance_end_ms=1000',
    'punctuate=yes',
    'channels=0',
  ]) {
    const res = await upgrade(server.url, `/v1/listen?${query}`);
    t.equal(res.status, 400, query);
    t.match(res.headers['dg-error'], /^Bad Request: /);
    t.equal(JSON.parse(res.body).err_code, 'Bad Request');
    t.match(res.headers['dg-request-id'], UUID);
  }
  t.equal((await upgrade(server.url, '/v1/listen?encoding=mulaw&sample_rate=8000&keyterm=a&keyterm=b')).status, 101);
});

t.test('429 above the connection limit, and room again once one closes', async (t) => {
  const server = await serve(t, { maxConnections: 1 });
  const first = new WebSocket(`${server.url}/v1/listen`);
  await once(first, 'open');
  const res = await upgrade(server.url, '/v1/listen');
  t.equal(res.status, 429);
  t.same(JSON.parse(res.body).err_code, 'TOO_MANY_REQUESTS');
  first.close();
  await once(first, 'close');
  await new Promise((r) => setTimeout(r, 20));
  t.equal((await upgrade(server.url, '/v1/listen')).status, 101);
});

t.test('other paths: 404; a plain GET of /v1/listen: 426; both with dg-request-id', async (t) => {
  const server = await serve(t);
  t.equal((await upgrade(server.url, '/v3/listen')).status, 404);
  const res = await fetch(`${server.url.replace('ws:', 'http:')}/v1/listen`);
  t.equal(res.status, 426);
  t.match(res.headers.get('dg-request-id'), UUID);
});
