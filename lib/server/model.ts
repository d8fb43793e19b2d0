// What the stand-in model says of itself: its model info in every Results, and the session's closing Metadata.
import { createHash } from 'node:crypto';
import { roundMicro, type MetadataMessage, type ModelInfo, type ResultsMessage } from '../protocol/messages.js';

export interface Model {
  uuid: string;
  info: ModelInfo;
}

/** A stable UUID and info for the model a query names (`local-nova-3`). */
export function modelOf(name: string): Model {
  const hex = createHash('sha256').update(name).digest('hex');
  const parts = [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `4${hex.slice(13, 16)}`,
    `8${hex.slice(17, 20)}`,
    hex.slice(20, 32),
  ];
  const uuid = parts.join('-');
  return { uuid, info: { name: `local-${name}`, version: 'local', arch: name } };
}

/** The `metadata` block of every Results of a session. */
export const resultsMetadata = (model: Model, requestId: string): ResultsMessage['metadata'] => ({
  request_id: requestId,
  model_info: model.info,
  model_uuid: model.uuid,
});

/** The Metadata that ends a session; `sha256` is "incomplete" when the server ended it, and models only once heard. */
export function closingMetadata(session: {
  requestId: string;
  created: Date;
  sha256: string;
  duration: number;
  channels: number;
  model?: Model;
}): MetadataMessage {
  const { model } = session;
  return {
    type: 'Metadata',
    transaction_key: 'deprecated',
    request_id: session.requestId,
    sha256: session.sha256,
    created: session.created.toISOString(),
    duration: roundMicro(session.duration),
    channels: session.channels,
    ...(model ? { models: [model.uuid], model_info: { [model.uuid]: model.info } } : {}),
  };
}
