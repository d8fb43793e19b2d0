// `deepgram-stream latency FILE`: streams a file at real-time pace and reports the delays live users feel.
import { writeFileSync } from 'node:fs';
import { latencyChart, latencyText, measureLatency } from '../live/latency.js';
import { integer, parse, text, UsageError, type Command } from './args.js';
import type { CliIo } from './io.js';
import { LISTEN_OPTIONS, localServer, transcriptionFlags } from './transcribe.js';

export const LATENCY: Command = {
  positionals: true,
  options: { ...LISTEN_OPTIONS, svg: { type: 'string' }, 'max-seconds': { type: 'string' } },
  usage: `deepgram-stream latency FILE [options]

  --url URL, --api-key KEY, --local      where to measure (as for transcribe; the local server without a key)
  --svg FILE                             also write a chart of every final word's delay over the file
  --max-seconds S (3600)                 the longest audio measured: it plays in real time, so a longer file is refused
  --model nova-3 --endpointing 300 ...   /v1/listen parameters, by their own names
  --model flux-general-en ...            Flux: end of speech to EndOfTurn, a turn's words being its finals
  Reports: time to the first words (interim or final); word to its final and end of speech to speech_final
  (p50, p95, max); on Flux, to EndOfTurn.`,
};

export async function latency(args: string[], io: CliIo): Promise<number> {
  const { values, positionals, help } = parse(LATENCY, args);
  if (help) return (io.stdout.write(`Usage: ${LATENCY.usage}\n`), 0);
  if (positionals.length !== 1) throw new UsageError('name one file to stream');
  const { local, query, apiKey, url, allowInsecure } = transcriptionFlags(values, 'text');
  const svg = text(values, 'svg');
  const maxSeconds = integer(values, 'max-seconds');
  const server = local ? await localServer(io) : undefined;
  try {
    const report = await measureLatency(positionals[0], {
      query,
      apiKey,
      url: server?.url ?? url,
      allowInsecure,
      maxSeconds,
    });
    io.stdout.write(`${latencyText(report)}\n`);
    if (svg) writeFileSync(svg, latencyChart(report));
    return 0;
  } catch (error) {
    io.stderr.write(`deepgram-stream: ${positionals[0]}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await server?.close();
  }
}
