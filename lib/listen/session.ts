// Which socket a session speaks, decided in one place: a Flux model (`flux-general-en`, `flux-general-multi`) is
// Flux on /v2/listen, anything else /v1/listen. The transcriber, the relay, the latency report and the command line
// all ask here.
import { createListenStream, type ListenStream } from './listen.js';
import { createFluxStream, type FluxStream } from './flux.js';
import { LISTEN_FLUX, LISTEN_V1, type ListenProtocol } from './protocol.js';
import type { SessionOptions } from './options.js';
import { isFluxQuery, type FluxQuery } from '../protocol/flux.js';
import type { ListenQuery } from '../protocol/options.js';

/** The protocol a query asks for. */
export function protocolOf(query: object = {}): ListenProtocol {
  return isFluxQuery(query) ? LISTEN_FLUX : LISTEN_V1;
}

/** A session stream for the query: a FluxStream for a Flux model, else a ListenStream. */
export function createSession(options: SessionOptions<ListenQuery | FluxQuery>): ListenStream | FluxStream {
  const { query = {} } = options;
  return isFluxQuery(query) ? createFluxStream({ ...options, query }) : createListenStream({ ...options, query });
}
