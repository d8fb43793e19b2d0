// `deepgram-stream relay`: the browser relay and its page, on one port, until stopped.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createRelay, RELAY_MAX_CONNECTIONS, type RelaySessionLog } from '../live/relay.js';
import { RELAY_PAGE } from '../live/page.js';
import { protocolOf } from '../listen/session.js';
import { LISTEN_FLUX } from '../listen/protocol.js';
import { requestUrl } from '../protocol/guards.js';
import { serverForStrangers } from '../server/strangers.js';
import { integer, parse, text, UsageError, type Command } from './args.js';
import { stopRequested, type CliIo } from './io.js';
import { localServer, QUERY_OPTIONS, transcriptionFlags } from './transcribe.js';

export const RELAY: Command = {
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    url: { type: 'string' },
    'api-key': { type: 'string' },
    local: { type: 'boolean' },
    'allow-insecure': { type: 'boolean' },
    'max-connections': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'max-session': { type: 'string' },
    'max-per-address': { type: 'string' },
    origin: { type: 'string', multiple: true },
    'public-host': { type: 'string', multiple: true },
    ...QUERY_OPTIONS,
  },
  usage: `deepgram-stream relay [options]

  --port N (8080, 0 for any), --host H (127.0.0.1)   where the page and its socket are served
  --url URL, --api-key KEY, --local      where browsers' audio goes (as for transcribe); the key stays here
  --max-connections N (100), --idle-timeout MS (30000)   browsers at once; silence before a session is ended
  --max-session S (3600), --max-per-address N (4)        the longest session; sessions at once per browser address
  --origin URL ...                       another site whose pages may use the socket (only the relay's own page may)
  --public-host NAME ...                 a host name browsers reach it by, besides localhost and 127.0.0.1
  --model nova-3 --language en ...       /v1/listen parameters, by their own names (interim_results and punctuate
                                         are on: --no-punctuate turns it off)
  --model flux-general-en ...            Flux, with its parameters by their own names
  Open http://HOST:PORT/ in a browser: it records the microphone and shows the transcript as it arrives. Each
  session ends with a line on stderr; Ctrl-C or SIGTERM ends every session with its last results, then exits 0.`,
};

export async function relay(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parse(RELAY, args);
  if (help) return (io.stdout.write(`Usage: ${RELAY.usage}\n`), 0);
  const { local, query, raw, apiKey, url, allowInsecure } = transcriptionFlags(values, 'text');
  if (raw) throw new UsageError('the page sends WebM/Opus, which carries its own format: leave out --encoding');
  const port = integer(values, 'port', 0) ?? 8080;
  const limits = {
    maxConnections: integer(values, 'max-connections') ?? RELAY_MAX_CONNECTIONS,
    idleTimeout: integer(values, 'idle-timeout'),
    maxSessionMs: (integer(values, 'max-session') ?? 3600) * 1000,
    maxPerAddress: integer(values, 'max-per-address') ?? 4,
  };
  const list = (name: string) => (Array.isArray(values[name]) ? values[name].map(String) : []);
  const origins = list('origin');
  for (const origin of origins)
    if (!/^https?:\/\/[^/]+$/.test(origin))
      throw new UsageError(`--origin takes an origin (https://host[:port]), not "${origin}"`);
  const upstream = local ? await localServer(io) : undefined;
  const server = serverForStrangers(limits.maxConnections, (request, response) => {
    if (request.method === 'GET' && requestUrl(request)?.pathname === '/')
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(RELAY_PAGE);
    else response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  const relay = createRelay({
    server,
    ...limits,
    origins,
    hosts: ['localhost', '127.0.0.1', '[::1]', ...list('public-host')],
    onSession: (log) => io.stderr.write(`${sessionLine(log)}\n`),
    listen: {
      url: upstream?.url ?? url,
      apiKey,
      allowInsecure,
      // Flux's turn so far comes anyway; /v1 sends interim results only when asked, and punctuates when asked.
      query: protocolOf(query) === LISTEN_FLUX ? query : { interim_results: true, punctuate: true, ...query },
    },
    backend: upstream ? { name: 'the local server', synthetic: true } : { name: url ? new URL(url).host : 'Deepgram' },
  });
  try {
    server.listen(port, text(values, 'host') ?? '127.0.0.1');
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    const { address, port: bound } = server.address() as AddressInfo;
    // A URL one can open: a wildcard address is no place to browse to.
    const shown = ['0.0.0.0', '::'].includes(address) ? 'localhost' : address.includes(':') ? `[${address}]` : address;
    io.stdout.write(`deepgram-stream: relay on http://${shown}:${bound}/ (its socket: /listen)\n`);
    await stopRequested(io).stopped;
    io.stderr.write('deepgram-stream: relay stopping: ending every session with its last results\n');
    return 0;
  } finally {
    await relay.close(5000);
    server.close();
    server.closeAllConnections();
    await upstream?.close();
  }
}

/** One line per session: when, how long, how much audio, the upstream request, and any error; never the key. */
export function sessionLine(log: RelaySessionLog): string {
  const seconds = ((log.ended.getTime() - log.started.getTime()) / 1000).toFixed(1);
  const audio = log.audioSeconds === undefined ? 'no metadata' : `${log.audioSeconds} s of audio`;
  const parts = [`session from ${log.address}`, `started ${log.started.toISOString()}`, `lasted ${seconds} s`, audio];
  if (log.requestId) parts.push(`request ${log.requestId}`);
  parts.push(log.error ? `error ${log.error}` : 'ok');
  return `deepgram-stream: relay: ${parts.join(', ')}`;
}
