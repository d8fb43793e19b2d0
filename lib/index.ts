// The package: the session streams and what reading them needs (streams.ts, also `deepgram-stream/streams`), and
// beside them the transcriber, audio stages, batches, live sources, the local server and the latency report.
export * from './streams.js';
export { startServer, type ServerOptions, type LocalServer, type Faults } from './server/index.js';
export type { SpeakServerOptions } from './server/index.js';
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
export { createTranscriber, type Transcriber, type TranscriberOptions, type SentFormat } from './transcribe.js';
export { createDecoder, type DecoderOptions } from './audio/decoder.js';
export { createFramer, pcmByteRate, type FramerOptions } from './audio/framer.js';
export { createPacer, type PacerOptions } from './audio/pacer.js';
export { Probe, detectContainer, type Container } from './audio/probe.js';
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
export { createWavWriter, wavHeader, type WavFormat } from './speak/wav.js';
// The Redis queue is `deepgram-stream/queue`: importing the core must not load BullMQ and ioredis.
