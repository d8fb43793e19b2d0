// `deepgram-stream/streams`: the session streams and what reading them needs (messages, guards, errors, the
// transcript transforms), without the local server, the live sources, the transcriber's FFmpeg or the CLI, for an
// app that only streams (a bridge of a thousand calls, a serverless function): a lighter import than the index.
export {
  createListenStream,
  ListenStream,
  SessionStream,
  DEFAULT_URL,
  type ListenStreamOptions,
  type ReconnectOptions,
  type ReconnectEvent,
  type OpenEvent,
} from './listen/stream.js';
export { createFluxStream, FluxStream, type FluxStreamOptions, type FluxWarning } from './listen/flux.js';
export { createSession, protocolOf } from './listen/session.js';
export { createSpeakStream, SpeakStream, type SpeakStreamOptions, type SpeakWarning } from './speak/stream.js';
export { DeepgramError, type DeepgramErrorCode } from './listen/errors.js';
export { isRetryable } from './listen/retry.js';
export * from './protocol/messages.js';
export * from './protocol/flux.js';
export * from './protocol/speak.js';
export { messageProblem, isResults, isFinal, isMetadata, isSpeechStarted, isUtteranceEnd } from './protocol/guards.js';
export { finalsOnly, utterances, toText, channelFilter, splitChannels, type Utterance } from './transcripts/results.js';
export { turns, turnOf, turnWords, finalOf, type Turn, type Final } from './transcripts/turns.js';
export { toNdjson, fromNdjson } from './transcripts/ndjson.js';
export { toSrt, toVtt, cueBuilder, type CaptionOptions, type Cue } from './transcripts/captions.js';
