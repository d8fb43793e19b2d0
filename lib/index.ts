// The package: the session streams (listen, Flux, speak) and what reading them needs (messages, guards, errors,
// the transcript transforms, the query). The rest loads only when imported, each from its own entry:
// `deepgram-stream/audio` (decoder and stages, the transcriber), `/batch`, `/live` (relay, Twilio, latency),
// `/server` (the local server) and `/queue` (Redis): an app that only streams does not load them.
export { createListenStream, ListenStream, DEFAULT_URL, type ListenStreamOptions } from './listen/listen.js';
export { SessionStream, type OpenEvent } from './listen/stream.js';
export type { ReconnectOptions, ReconnectEvent } from './listen/reconnect.js';
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
export {
  checkQuery,
  toSearchParams,
  ENCODINGS,
  RAW_SAMPLE_BYTES,
  isRawEncoding,
  type ListenQuery,
  type Encoding,
  type RawEncoding,
} from './protocol/options.js';
export { createWavWriter, wavHeader, type WavFormat } from './speak/wav.js';
