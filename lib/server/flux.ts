// What a Flux session on /v2/listen says (flux spec §3-§6): Connected first, TurnInfo from the turn model, one
// sequence_id counter across every message, Configure acknowledged in order with the audio, ForceEndTurn (unless a
// fault turns it off, as on some deployments), and no status on the close after CloseStream. Any other text frame
// is a fatal UNPARSABLE_CLIENT_MESSAGE.
import { parseJson } from '../protocol/guards.js';
import { applyConfigure, configOf } from '../protocol/flux.js';
import { FluxTurns } from './turns.js';
import type { Dialect, DialectHost } from './dialect.js';

type Queued = { force: true } | { configure: Record<string, unknown> };

/** Configures queued and not yet acknowledged before another is refused: Flux caps them at a number not published
 * ([?]); 1 here, the strictest, so that a client that does not wait for each acknowledgement finds out. */
const PENDING_CONFIGURES = 1;

export function fluxDialect(host: DialectHost): Dialect<Queued> {
  const { params, requestId } = host;
  const multi = params.get('model') === 'flux-general-multi';
  let config = configOf(params);
  let sequence = 0;
  let pending = 0;
  const send = (message: object, withRequestId = true) =>
    host.send({ ...message, ...(withRequestId ? { request_id: requestId } : {}), sequence_id: sequence++ });
  const fatal = (description: string) => {
    send({ type: 'Error', code: 'UNPARSABLE_CLIENT_MESSAGE', description }, false);
    host.end(undefined, '');
  };
  const turns = new FluxTurns(
    () => config,
    (message) => send({ type: 'TurnInfo', ...message }),
    host.script,
    multi,
  );
  send({ type: 'Connected' });

  return {
    inactivityTimeout: 60_000,
    pingsKeepAlive: true,
    get duration() {
      return turns.duration;
    },
    text(raw) {
      const json = parseJson(raw)?.value;
      const message = json !== null && typeof json === 'object' && !Array.isArray(json) ? json : undefined;
      const type = message && 'type' in message ? message.type : undefined;
      if (type === 'CloseStream' && Object.keys(message!).length === 1) return 'close';
      if (type === 'ForceEndTurn' && Object.keys(message!).length === 1) {
        if (host.faults.noForceEndTurn) return fatal('ForceEndTurn is not enabled on this deployment');
        return { queue: { force: true } };
      }
      if (type === 'Configure') {
        if (pending >= PENDING_CONFIGURES)
          return void send({
            type: 'ConfigureFailure',
            code: 'TOO_MANY_PENDING_CONFIGURES',
            description: 'Too many pending Configure messages.',
          });
        pending++;
        return { queue: { configure: message as Record<string, unknown> } };
      }
      fatal(`Could not deserialize last text message: ${raw.slice(0, 200)}`);
    },
    audio(pcm) {
      turns.push(pcm);
    },
    control(queued) {
      if ('force' in queued) {
        if (!turns.forceEnd())
          send({
            type: 'Warning',
            code: 'FORCE_END_TURN_NO_ACTIVE_TURN',
            description: 'Received ForceEndTurn while no turn was active; the request was ignored.',
          });
        return;
      }
      pending--;
      const result = applyConfigure(config, queued.configure, multi);
      if ('fatal' in result) return fatal(`Could not deserialize last text message: ${result.fatal}`);
      if ('code' in result) return void send({ type: 'ConfigureFailure', ...result });
      config = result.config;
      send({ type: 'ConfigureSuccess', ...config });
    },
    flush() {
      turns.flush();
    },
    // CloseStream's close has no status (the client sees 1005); so has the one after a fatal Error.
    ending: ({ code, reason }) => ({ code, reason }),
  };
}
