// `deepgram-stream/live`: live sources and what measures them: the browser relay, the Twilio Media Streams bridge
// and playback, and the latency report.
export { measureLatency, latencyText, latencyChart, type LatencyReport, type Delays } from './latency.js';
export {
  createTwilioBridge,
  type TwilioBridgeOptions,
  type TwilioCall,
  type TwilioAudioEvent,
  type TwilioInvalidEvent,
} from './twilio.js';
export { createTwilioPlayback, TwilioPlayback } from './twilio-speak.js';
export type { Reply } from './relay-voice.js';
export { RELAY_PAGE } from './page.js';
export {
  createRelay,
  type Relay,
  type RelayOptions,
  type RelayGrant,
  type RelayErrorMessage,
  type RelaySessionLog,
} from './relay.js';
