// What a /v1/listen session says (live spec §3-§4): Results from the recognizer, Finalize and Sync in order with
// the audio, SchemaError for a text frame that is no control message, and Metadata before the close.
import { CLOSE_NORMAL, type ServerMessage } from '../protocol/messages.js';
import { parseControl, schemaError } from '../protocol/control.js';
import { Recognizer, recognizerSettings } from './recognizer.js';
import { closingMetadata, modelOf, resultsMetadata } from './model.js';
import type { Dialect, DialectHost } from './dialect.js';

type Queued = { finalize: number | undefined } | { sync: unknown };

export function novaDialect(host: DialectHost): Dialect<Queued> {
  const model = modelOf(host.params.get('model') ?? 'base');
  const created = new Date();
  let recognizer: Recognizer | undefined;
  let channels = 0;
  return {
    inactivityTimeout: 12_000,
    get duration() {
      return recognizer?.duration ?? 0;
    },
    text(raw) {
      const parsed = parseControl(raw);
      if ('problem' in parsed) return void host.send(schemaError(raw, parsed.problem));
      const { type, channel, id } = parsed.control;
      // KeepAlive only resets the timer; Configure's features change nothing the stand-in model does.
      if (type === 'CloseStream') return 'close';
      if (type === 'Finalize') return { queue: { finalize: channel } };
      if (type === 'Sync') return { queue: { sync: id } };
    },
    audio(pcm) {
      if (!recognizer) {
        channels = pcm.channels;
        recognizer = new Recognizer(
          recognizerSettings(host.params, {
            channels: pcm.channels,
            script: host.script,
            resultsMetadata: resultsMetadata(model, host.requestId),
          }),
          (message: ServerMessage) => host.send(message),
        );
      }
      recognizer.push(pcm);
    },
    control(queued) {
      if ('finalize' in queued) recognizer?.finalize(queued.finalize);
      else host.send({ type: 'Sync', id: queued.sync });
    },
    flush() {
      recognizer?.flush();
    },
    ending({ code, reason, sha256 }) {
      host.send(
        closingMetadata({
          requestId: host.requestId,
          created,
          sha256,
          duration: recognizer?.duration ?? 0,
          channels,
          model: recognizer && model,
        }),
      );
      return { code: code ?? CLOSE_NORMAL, reason };
    },
  };
}
