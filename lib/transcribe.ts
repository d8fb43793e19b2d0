// createTranscriber: file bytes in, transcript objects out. One Duplex (a Chain) over the audio stages and
// the listen stream, with the listen stream's encoding, sample_rate and channels set from what is really sent.
import { Transform, type Duplex } from 'node:stream';
import { Chain } from './audio/chain.js';
import type { ListenStream, ListenStreamOptions } from './listen/listen.js';
import { createSession, protocolOf } from './listen/session.js';
import { LISTEN_FLUX } from './listen/protocol.js';
import type { FluxStream } from './listen/flux.js';
import type { FluxMessage, FluxMetadataMessage, FluxQuery } from './protocol/flux.js';
import { DeepgramError } from './listen/errors.js';
import { rawLayout, type ListenQuery, type RawEncoding } from './protocol/options.js';
import type { MetadataMessage, ServerMessage } from './protocol/messages.js';
import { Probe, type Container } from './audio/probe.js';
import { createDecoder } from './audio/decoder.js';
import { createSpooledDecoder } from './audio/spool.js';
import { createFramer, pcmByteRate } from './audio/framer.js';
import { createPacer } from './audio/pacer.js';

/** Frame size for compressed containers, whose byte rate is unknown until decoded. */
const CONTAINER_FRAME_BYTES = 8192;

export interface TranscriberOptions extends Omit<ListenStreamOptions, 'query'> {
  /**
   * Query parameters; `encoding`, `sample_rate` and `channels` are set from the audio, never by hand. A Flux model
   * (`flux-general-en`, `flux-general-multi`) transcribes with Flux on /v2/listen, and takes Flux's parameters.
   */
  query?: Omit<ListenQuery, 'encoding' | 'sample_rate' | 'channels'> | Omit<FluxQuery, 'encoding' | 'sample_rate'>;
  /** `auto` (default): WAV, Ogg, WebM, MP3 and FLAC go to Deepgram as they are, the rest through FFmpeg. */
  decode?: 'auto' | 'always';
  /** Headerless input: its layout, sent as declared. */
  raw?: { encoding: RawEncoding; sample_rate: number; channels?: number };
  /** Rate of decoded audio, Hz. Default 16000. */
  sampleRate?: number;
  /** Channels of decoded audio. Default 1. */
  channels?: number;
  /** Milliseconds of audio per frame sent. Default 100. */
  frameMs?: number;
  /** Release audio at this multiple of real time, as a live source would (decodes the input). */
  pace?: number;
  /**
   * With `pace`: once aborted, audio not yet released is dropped, so that the end of the input (which the caller
   * brings about) comes at once: CloseStream follows what was sent, and its finals arrive. For Ctrl-C on a live pipe.
   */
  paceStop?: AbortSignal;
  /** An MP4 with its index at the end is decoded from a temporary file of at most this many bytes. Default 2 GiB. */
  spoolLimit?: number;
}

/** What the transcriber sends: a container as it is, or raw audio. */
export interface SentFormat {
  container?: Container;
  encoding?: RawEncoding;
  sample_rate?: number;
  channels?: number;
}

export interface Transcriber extends Duplex {
  on(event: 'data', listener: (message: ServerMessage | FluxMessage) => void): this;
  on(event: 'metadata', listener: (metadata: MetadataMessage | FluxMetadataMessage) => void): this;
  on(event: 'format', listener: (format: SentFormat) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  [Symbol.asyncIterator](): AsyncIterableIterator<ServerMessage | FluxMessage>;
}

/** Containers Flux takes as they are (WAV, Ogg/Opus, WebM/Opus); the rest are decoded for it. */
const FLUX_CONTAINERS: readonly Container[] = ['wav', 'ogg', 'webm'];

const emptyInput = () =>
  new DeepgramError('DG_NO_AUDIO', 'the input is empty (0 bytes): there is no audio to transcribe');

/** Passes bytes on, and refuses an empty input at its end: no audio can never be a transcript. */
function refuseEmpty(): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      callback(bytes === 0 ? emptyInput() : null);
    },
  });
}

export function createTranscriber(options: TranscriberOptions = {}): Transcriber {
  const {
    decode = 'auto',
    raw,
    sampleRate = 16000,
    channels = 1,
    frameMs = 100,
    pace,
    paceStop,
    spoolLimit,
    query = {},
    ...listenOptions
  } = options;
  for (const key of ['encoding', 'sample_rate', 'channels']) {
    if (key in query) {
      throw new DeepgramError(
        'DG_OPTIONS',
        `${key} is set from the audio by the transcriber: use \`raw\` for headerless input, or sampleRate/channels ` +
          `for decoded audio`,
      );
    }
  }
  const chain = new Chain();
  const transcriber: Transcriber = chain;
  /** Every stage made, so that destroying the transcriber (or a failing neighbour in a pipeline) ends them all. */
  const stages: Duplex[] = [];
  transcriber.on('close', () => {
    for (const stage of stages) stage.destroy();
  });

  /**
   * The listen stream first (its options may be refused), then the stages (FFmpeg may be missing): a failure of
   * either is a stream error, and whatever was already made is torn down, so no FFmpeg is left running.
   */
  const flux = protocolOf(query) === LISTEN_FLUX;
  const open = ({ container: _, channels: count, ...sent }: SentFormat): ListenStream | FluxStream => {
    if (flux && (count ?? 1) > 1) throw new DeepgramError('DG_OPTIONS', 'Flux takes mono audio: give channels 1');
    return createSession({ ...listenOptions, query: { ...query, ...sent, ...(flux ? {} : { channels: count }) } });
  };
  const start = (format: SentFormat, build: () => Duplex[]) => {
    try {
      const listen = open(format);
      stages.push(listen);
      const built = build();
      stages.push(...built);
      listen.on('metadata', (metadata: MetadataMessage | FluxMetadataMessage) => {
        // Input that was not empty but held no audio (a WAV header alone, say) is an error, not an empty success.
        if (metadata.duration === 0) {
          transcriber.destroy(
            new DeepgramError('DG_NO_AUDIO', 'the input holds no audio: Deepgram heard 0 s of it', {
              metadata,
              requestId: metadata.request_id,
            }),
          );
        } else transcriber.emit('metadata', metadata);
      });
      // On the next tick, so that a listener added right after createTranscriber() hears it.
      process.nextTick(() => transcriber.emit('format', format));
      chain.setPipeline(listen, ...built);
    } catch (error) {
      transcriber.destroy(error as Error);
    }
  };
  const pcmStages = (bytesPerSecond: number): Transform[] => [
    createFramer({ frameMs, bytesPerSecond }),
    ...(pace ? [createPacer({ bytesPerSecond, speed: pace, stop: paceStop })] : []),
  ];
  const decodedFormat: SentFormat = { encoding: 'linear16', sample_rate: sampleRate, channels };
  const decoded = (fromFile = false) => [
    fromFile ? createSpooledDecoder({ sampleRate, channels, spoolLimit }) : createDecoder({ sampleRate, channels }),
    ...pcmStages(pcmByteRate(sampleRate, channels)),
  ];

  if (raw) {
    const rawChannels = raw.channels ?? 1;
    start({ encoding: raw.encoding, sample_rate: raw.sample_rate, channels: rawChannels }, () => [
      refuseEmpty(),
      ...pcmStages(rawLayout(raw)!.bytesPerSecond),
    ]);
  } else if (decode === 'always' || pace !== undefined) {
    start(decodedFormat, () => [refuseEmpty(), ...decoded()]);
  } else {
    const probe = new Probe();
    stages.push(probe);
    chain.setWritable(probe);
    probe.once('format', (container: Container | undefined, held: number, indexAtEnd: boolean) => {
      if (held === 0) transcriber.destroy(emptyInput());
      else if (container && (!flux || FLUX_CONTAINERS.includes(container)))
        start({ container }, () => [probe, createFramer({ frameBytes: CONTAINER_FRAME_BYTES })]);
      else start(decodedFormat, () => [probe, ...decoded(indexAtEnd)]);
    });
  }
  return transcriber;
}
