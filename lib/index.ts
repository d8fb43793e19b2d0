export {
  createListenStream,
  ListenStream,
  DEFAULT_URL,
  type ListenStreamOptions,
  type ReconnectOptions,
  type ReconnectEvent,
  type OpenEvent,
} from './listen/stream.js';
export { DeepgramError, type DeepgramErrorCode } from './listen/errors.js';
export { createFluxStream, FluxStream, type FluxStreamOptions, type FluxWarning } from './listen/flux.js';
export { createSession, protocolOf } from './listen/session.js';
export * from './protocol/flux.js';
export { isRetryable } from './listen/retry.js';
export { startServer, type ServerOptions, type LocalServer, type Faults } from './server/index.js';
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
export * from './protocol/messages.js';
export { messageProblem, isResults, isFinal, isMetadata, isSpeechStarted, isUtteranceEnd } from './protocol/guards.js';
export { createTranscriber, type Transcriber, type TranscriberOptions, type SentFormat } from './transcribe.js';
export { createDecoder, type DecoderOptions } from './audio/decoder.js';
export { createFramer, pcmByteRate, type FramerOptions } from './audio/framer.js';
export { createPacer, type PacerOptions } from './audio/pacer.js';
export { Probe, detectContainer, type Container } from './audio/probe.js';
export { finalsOnly, utterances, toText, channelFilter, splitChannels, type Utterance } from './transcripts/results.js';
export { turns, turnOf, turnWords, finalOf, type Turn, type Final } from './transcripts/turns.js';
export { toNdjson, fromNdjson } from './transcripts/ndjson.js';
export { toSrt, toVtt, cueBuilder, type CaptionOptions, type Cue } from './transcripts/captions.js';
export {
  transcribeMany,
  transcribeOne,
  outputName,
  type BatchOptions,
  type FileResult,
  type Progress,
} from './batch/many.js';
export { FORMATS, formatter, type Format } from './batch/outputs.js';
export { measureLatency, latencyText, latencyChart, type LatencyReport, type Delays } from './live/latency.js';
export {
  createTwilioBridge,
  type TwilioBridgeOptions,
  type TwilioCall,
  type TwilioAudioEvent,
  type TwilioInvalidEvent,
} from './live/twilio.js';
export { createTwilioPlayback, TwilioPlayback } from './live/twilio-speak.js';
export type { Reply } from './live/relay-voice.js';
export { RELAY_PAGE } from './live/page.js';
export {
  createRelay,
  type Relay,
  type RelayOptions,
  type RelayGrant,
  type RelayErrorMessage,
  type RelaySessionLog,
} from './live/relay.js';
export { createSpeakStream, SpeakStream, type SpeakStreamOptions, type SpeakWarning } from './speak/stream.js';
export { createWavWriter, wavHeader, type WavFormat } from './speak/wav.js';
export * from './protocol/speak.js';
export type { SpeakServerOptions } from './server/index.js';
// The Redis queue is `deepgram-stream/queue`: importing the core must not load BullMQ and ioredis.
