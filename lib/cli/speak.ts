// `deepgram-stream speak [TEXT...]`: text to speech, to a WAV file or raw audio on standard output. Each argument,
// or each line of standard input, is a reply: it is flushed as it ends, so its audio comes while the next is read.
import { open } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import split2 from 'split2';
import { createSpeakStream, type SpeakStream } from '../speak/stream.js';
import { createWavWriter, wavHeader } from '../speak/wav.js';
import { DeepgramError } from '../listen/errors.js';
import { integer, oneOf, parse, positive, text, UsageError, type Command } from './args.js';
import { stopRequested, type CliIo } from './io.js';
import { connectionFlags, localServer } from './transcribe.js';
import { checkSpeakQuery, type SpeakQuery } from '../protocol/speak.js';
import { toSearchParams } from '../protocol/options.js';

export const SPEAK: Command = {
  positionals: true,
  options: {
    out: { type: 'string' },
    model: { type: 'string' },
    encoding: { type: 'string' },
    sample_rate: { type: 'string' },
    speed: { type: 'string' },
    local: { type: 'boolean' },
    url: { type: 'string' },
    'api-key': { type: 'string' },
    'allow-insecure': { type: 'boolean' },
  },
  usage: `deepgram-stream speak [TEXT...] [options]

  TEXT...                              what to say, each argument a reply; none: standard input, a reply per line
  --out FILE                           write a WAV file (default: raw audio on standard output, never a terminal)
  --model aura-2-thalia-en             the voice
  --encoding linear16|mulaw|alaw       the audio (default linear16), --sample_rate N (24000; 8000 for mulaw, alaw)
  --speed X                            0.7 to 1.5
  --url URL, --api-key KEY, --local    as for transcribe: the embedded local server without a key`,
};

export async function speak(args: string[], io: CliIo): Promise<number> {
  const { values, positionals, help } = parse(SPEAK, args);
  if (help) return (io.stdout.write(`Usage: ${SPEAK.usage}\n`), 0);
  const out = text(values, 'out');
  if (!out && io.stdout.isTTY) throw new UsageError('raw audio would go to the terminal: give --out FILE, or a pipe');
  const query: SpeakQuery = {
    model: text(values, 'model') ?? 'aura-2-thalia-en',
    encoding: oneOf(values, 'encoding', ['linear16', 'mulaw', 'alaw'] as const),
    sample_rate: integer(values, 'sample_rate'),
    speed: positive(values, 'speed'),
  };
  const problem = checkSpeakQuery(toSearchParams(query));
  if (problem) throw new UsageError(problem);
  const { local, ...connection } = connectionFlags(values, '/v1/speak');
  const server = local ? await localServer(io, undefined, 'its voice is a synthetic stand-in') : undefined;
  const stop = stopRequested(io);
  try {
    const stream = createSpeakStream({ ...connection, url: server?.url ?? connection.url, query });
    const replies = positionals.length > 0 ? Readable.from(positionals) : io.stdin.pipe(split2());
    // The first Ctrl-C ends the input: what was read is still said. A second one stops at once.
    void stop.stopped.then(() => replies.destroy());
    const bytes = await say(replies, stream, out, io);
    if (bytes === 0) throw new DeepgramError('DG_NO_AUDIO', 'nothing to say: the text was empty');
    if (out)
      io.stderr.write(
        `deepgram-stream: ${out}: ${(bytes / stream.format.bytes / stream.format.sampleRate).toFixed(2)} s of audio\n`,
      );
    return 0;
  } catch (error) {
    io.stderr.write(`deepgram-stream: ${(error as Error).message}\n`);
    return 1;
  } finally {
    stop.dispose();
    await server?.close();
  }
}

/** Each reply spoken and flushed; the audio to `out` as WAV (its sizes set at the end) or to stdout. Its bytes. */
async function say(replies: Readable, stream: SpeakStream, out: string | undefined, io: CliIo): Promise<number> {
  let bytes = 0;
  const feed = async () => {
    try {
      for await (const line of replies) {
        const reply = String(line).trim();
        if (reply === '') continue;
        stream.write(`${reply} `);
        stream.flush();
      }
    } catch {
      // The input was stopped (Ctrl-C): what was read is still said.
    }
    stream.end();
  };
  stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const stdout = new Writable({
    write: (chunk, _e, done) => (io.stdout.write(chunk) ? done() : io.stdout.once('drain', done)),
  });
  const played = out
    ? pipeline(stream, createWavWriter(stream.format), createWriteStream(out))
    : pipeline(stream, stdout);
  await Promise.all([feed(), played]);
  if (out) {
    const file = await open(out, 'r+');
    await file.write(wavHeader(stream.format, bytes), 0, 44, 0);
    await file.close();
  }
  return bytes;
}
