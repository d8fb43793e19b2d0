// `deepgram-stream/audio`: audio in any container to a listen session: FFmpeg's decoder and the stages around it,
// and the transcriber that chains them to a listen stream.
export { createTranscriber, type Transcriber, type TranscriberOptions, type SentFormat } from '../transcribe.js';
export { createDecoder, type DecoderOptions } from './decoder.js';
export { createFramer, pcmByteRate, type FramerOptions } from './framer.js';
export { createPacer, type PacerOptions } from './pacer.js';
export { Probe, detectContainer, type Container } from './probe.js';
