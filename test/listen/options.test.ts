import t from 'tap';
import { listenSettings } from '../../lib/listen/options.js';
import { LISTEN_FLUX, LISTEN_V1 } from '../../lib/listen/protocol.js';
import { hiddenClasses } from '../helpers.js';

const options = { url: 'ws://127.0.0.1:1', query: { encoding: 'linear16', sample_rate: 16000 } };

t.test("every stream's settings share one hidden class, so the write path's loads of them stay fast", async (t) => {
  // Built by a spread and then added to, each had a class of its own (89 among 100): the loads of `hash` and
  // `reconnect` on every write went megamorphic at a thousand streams.
  t.equal(hiddenClasses(Array.from({ length: 100 }, () => listenSettings(options))), 1);
  const flux = { ...options, query: { model: 'flux-general-en', encoding: 'linear16', sample_rate: 16000 } };
  t.equal(hiddenClasses(Array.from({ length: 100 }, () => listenSettings(flux, LISTEN_FLUX))), 1);
});

t.test('the settings say what the options say', async (t) => {
  const settings = listenSettings({ ...options, keepAlive: false, liveness: { interval: 100 }, closeTimeout: 5 });
  t.match(settings, {
    keepAlive: false,
    liveness: { interval: 100, timeout: 8000 },
    closeTimeout: 5,
    connectTimeout: 10_000,
    bytesPerSecond: 32_000,
    hash: undefined,
    reconnect: undefined,
  });
  t.equal(settings.endpoint.url, 'ws://127.0.0.1:1/v1/listen?encoding=linear16&sample_rate=16000');
  t.ok(listenSettings({ ...options, reconnect: { attempts: 1 } }).hash, 'hashed after a reconnect by default');
});

t.test('a stream keeps only what it uses: a shared default liveness, the URL as a string, no query', async (t) => {
  // At a thousand live streams, every object a stream holds spreads their sockets over more memory, and each write
  // reaches its socket a little slower (bench/README.md).
  const [a, b] = [listenSettings(options), listenSettings(options)];
  t.equal(a.liveness, b.liveness, 'one default liveness object for every stream');
  t.same(a.liveness, { interval: 4000, timeout: 8000 });
  t.type(a.endpoint.url, 'string');
  t.notOk('query' in a, 'the query is read as the stream is made, not kept');
  t.not(listenSettings({ ...options, liveness: { timeout: 100 } }).liveness, a.liveness, 'a liveness of its own');
});

t.test('a query is checked once however many streams share it; each query keeps its own verdict', async (t) => {
  // A call bridge makes its thousand streams with one configuration: checked once, not a thousand times.
  let checks = 0;
  const counted = {
    ...LISTEN_V1,
    path: '/v1/listen-counted',
    checkQuery: (query: URLSearchParams) => (checks++, LISTEN_V1.checkQuery(query)),
  };
  for (let i = 0; i < 100; i++) listenSettings(options, counted);
  t.equal(checks, 1);
  const bad = { ...options, query: { ...options.query, punctuate: 'maybe' } };
  t.throws(() => listenSettings(bad, counted), { code: 'DG_OPTIONS', message: /punctuate/ });
  t.throws(() => listenSettings(bad, counted), { code: 'DG_OPTIONS', message: /punctuate/ }, 'refused again');
  t.equal(checks, 2, 'the bad query checked once too');
  t.equal(
    listenSettings(options, counted).endpoint.url,
    `ws://127.0.0.1:1/v1/listen-counted?encoding=linear16&sample_rate=16000`,
  );
  // What is not the query's is each stream's own: the credential is checked for every stream.
  const remote = { query: options.query, url: 'ws://example.com' };
  t.ok(listenSettings(remote, counted), 'no key: ws:// to another host is no risk');
  t.throws(() => listenSettings({ ...remote, apiKey: 'k' }, counted), { code: 'DG_OPTIONS', message: /in clear/ });
  t.throws(() => listenSettings({ ...remote, apiKey: 'k\n' }, counted), { code: 'DG_OPTIONS' });
});
