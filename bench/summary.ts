// Publishes bench/results/*.json: the chart, and the README's figures between its <!-- bench --> markers,
// so neither ever shows a figure the results do not hold.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chart } from './chart.js';
import { round } from './support.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const load = (name: string) => JSON.parse(readFileSync(`${root}bench/results/${name}.json`, 'utf8'));

/** A difference with its sign: +1.5, -2.2. */
const signed = (n: number) => (n < 0 ? `${n}` : `+${n}`);

const scaleRow = (r: { streams: number; audioSecondsPerSecond: number; p99Ms: number }) =>
  `${r.streams} stream${r.streams === 1 ? '' : 's'} ${r.audioSecondsPerSecond} audio s per s, p99 ${r.p99Ms} ms`;

/** The client against a server that discards (its floor beside it in the same run), import cost, server capacity. */
function floors(verdict: (met: boolean) => string): string[] {
  const client = load('client');
  const many = load('many');
  const imports = load('import');
  const serve = load('serve');
  const voice = load('voice').throughput.rows;
  const row = (name: string) => client.rows.find((r: { name: string }) => r.name === name);
  const [plain, duplex, rawFlux, flux] = [
    'plain Writable over ws',
    'listen Duplex',
    'raw ws (Flux)',
    'Flux Duplex',
  ].map(row);
  const [ws, index] = imports.rows;
  const rss = (mine: any, floor: any) => round(mine.peakRssMb - floor.peakRssMb);
  const phase = (name: 'make' | 'audio' | 'close') =>
    `${many.duplex[`${name}CpuSeconds`]} s against ${many.ws[`${name}CpuSeconds`]}`;
  const scale = (what: string, mine: any, floor: any, versus: any) => [
    `| ${what}, client CPU | ${floor.cpuSeconds} s | ${mine.cpuSeconds} s | ${versus.cpuVsWs}x` +
      ` (rounds: ${versus.cpuRatios.join(', ')}) | ` +
      `${verdict(versus.cpuVsWs <= 1.1)} |`,
    `| the same, RSS per stream | ${floor.rssPerStreamKiB} KiB | ${mine.rssPerStreamKiB} KiB | ` +
      `${signed(versus.rssPerStreamAboveWsKiB)} KiB | ${verdict(versus.rssPerStreamAboveWsKiB <= 8)} |`,
  ];
  const served = serve.rows.map(
    (r: any) =>
      `| local server, ${r.streams} real-time streams, ${r.workers ? `${r.workers} workers` : 'one process'} | ` +
      `real time: last final within 500 ms of CloseStream at p99 | ${r.closedNormally} closed normally, p99 ` +
      `${r.lastFinalP99Ms} ms (p50 ${r.lastFinalP50Ms}), ${r.serverCores} cores: ` +
      `${r.streamsPerCore} streams per core | | ` +
      `${verdict(r.closedNormally === r.streams && r.lastFinalP99Ms <= 500)} |`,
  );
  return [
    `Against a server in a child process that discards the audio, so that the client is what is measured (run of ` +
      `${client.machine.date}, ${client.machine.cpus} cores; one stream: ${client.audioSeconds / 60} min of audio as ` +
      `fast as the socket takes it, median of ${client.rounds}; ${many.ws.streams} streams: 100 ms every 100 ms for ` +
      `${many.ws.seconds} s, median of ${many.ws.rounds ?? 1} interleaved rounds, each ratio the median of the ` +
      `rounds' own):`,
    '',
    '| what | floor | deepgram-stream | ratio | |',
    '| --- | ---: | ---: | ---: | --- |',
    `| one stream at full speed, peak RSS | plain Writable over ws ${plain.peakRssMb} MB | listen Duplex ` +
      `${duplex.peakRssMb} MB | ${rss(duplex, plain)} MB | ${verdict(rss(duplex, plain) <= 8)} |`,
    `| the same on Flux | raw ws loop ${rawFlux.peakRssMb} MB | Flux Duplex ${flux.peakRssMb} MB | ` +
      `${rss(flux, rawFlux)} MB | ${verdict(rss(flux, rawFlux) <= 8)} |`,
    ...scale(`${many.ws.streams} live streams (a ws each)`, many.duplex, many.ws, many),
    ...scale(`${many.ws.streams} live Flux streams (a ws each)`, many.flux, many.wsFlux, many.fluxVersus),
    `| \`node -e "import('deepgram-stream')"\`, peak RSS | ws ${ws.peakMiB} MiB | ${index.peakMiB} MiB | ` +
      `${signed(index.peakAboveWsMiB)} MiB | ${verdict(index.peakAboveWsMiB <= 2)} |`,
    `| the same, RSS right after the import (before or after V8 grows its young generation) | ws ${ws.rssMiB} MiB | ` +
      `${index.rssMiB} MiB | ${signed(index.aboveWsMiB)} MiB | |`,
    `| the same, held after a full GC (heap used and external) | ws ${ws.heldMiB} MiB | ${index.heldMiB} MiB | ` +
      `${signed(index.heldAboveWsMiB)} MiB | |`,
    ...served,
    '',
    `One stream at full speed against the same server, client CPU s per audio hour and peak RSS: ` +
      `${client.rows.map((r: any) => `${r.name} ${r.cpuSecondsPerAudioHour} s, ${r.peakRssMb} MB`).join('; ')} ` +
      `(the transcriber's FFmpeg is a process of its own, not counted). Speech out, against the local server: ` +
      `${voice.map((r: any) => `${r.name} ${r.cpuSecondsPerAudioHour} s`).join(', ')} per audio hour ` +
      `(${voice[voice.length - 1].cpuVsRawWs}x). At ${many.ws.streams} streams, a bare Duplex per stream over its ws ` +
      `(what Node's stream layer alone adds: no keep-alive, no liveness, no checks): ${many.bare.cpuSeconds} s ` +
      `(${many.bareVersus.cpuVsWs}x), ${many.bare.rssPerStreamKiB} KiB per stream. The listen Duplex's CPU there ` +
      `against a \`ws\` each, making the streams ${phase('make')}, the ${many.ws.seconds} s of audio ` +
      `${phase('audio')} (every stream pings the silent server every 8 s: against Deepgram, which answers while ` +
      `audio flows, none does), closing them ${phase('close')}. The same after a warm-up of ${many.ws.streams} ` +
      `streams in the same process (as in one that has run a while: code compiled; median of ${many.warm.rounds} ` +
      `rounds): the listen Duplex ${many.warm.versus.cpuVsWs}x (${many.warm.versus.cpuRatios.join(', ')}), the Flux ` +
      `Duplex ${many.warm.fluxVersus.cpuVsWs}x (${many.warm.fluxVersus.cpuRatios.join(', ')}); the targets above ` +
      `are the cold process's.`,
  ];
}

export function summary(): string {
  const throughput = load('throughput');
  const latency = load('latency');
  const memory = load('memory');
  const scale = load('scale');
  const decoding = load('decoding');
  const batch = load('batch');
  const versus = load('versus-raw');
  const row = (name: string) => throughput.rows.find((r: { name: string }) => r.name === name);
  const duplex = row('listen Duplex');
  const sdk = row('@deepgram/sdk 5');
  const flux = row('Flux Duplex');
  const full = memory.rows.find((r: { name: string }) => r.name === 'full speed');
  const most = scale.rows[scale.rows.length - 1];
  const verdict = (met: boolean) => (met ? 'met' : '**missed**');
  const lines = [
    `Run of ${throughput.machine.date} on this ${throughput.machine.cpus}-core machine, Node ` +
      `${throughput.machine.node}; ` +
      `throughput is the median of ${throughput.rounds} interleaved rounds of ${throughput.audioSeconds / 60} ` +
      `minutes of 16 kHz linear16.`,
    '',
    '| contender | audio s per s | MB/s | client CPU s per audio hour | vs raw ws (doing the same job) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...throughput.rows.map(
      (r: any) =>
        `| ${r.name} | ${r.audioSecondsPerSecond} | ${r.megabytesPerSecond} | ${r.cpuSecondsPerAudioHour} | ` +
        `${r.vsRawWs}x |`,
    ),
    '',
    '| target | figure | |',
    '| --- | --- | --- |',
    `| at least 0.9x raw ws throughput | ${duplex.vsRawWs}x | ${verdict(duplex.vsRawWs >= 0.9)} |`,
    `| faster than @deepgram/sdk | ${duplex.audioSecondsPerSecond} vs ${sdk.audioSecondsPerSecond} audio s per s | ` +
      `${verdict(duplex.audioSecondsPerSecond > sdk.audioSecondsPerSecond)} |`,
    `| p99 added read latency under 1 ms | p50 ${latency.addedMs.p50} ms, p99 ${latency.addedMs.p99} ms (raw ws p99 ` +
      `${latency.rawWs.p99}, Duplex p99 ${latency.listenDuplex.p99}; ${latency.messages} messages) | ` +
      `${verdict(latency.addedMs.p99 < 1)} |`,
    `| Flux Duplex at least 0.9x a raw ws loop doing the Flux job | ${flux.vsRawWs}x | ` +
      `${verdict(flux.vsRawWs >= 0.9)} |`,
    `| Flux: p99 added read latency under 1 ms | p50 ${latency.flux.addedMs.p50} ms, p99 ${latency.flux.addedMs.p99} ` +
      `ms (raw ws p99 ${latency.flux.rawWs.p99}, Flux Duplex p99 ${latency.flux.listenDuplex.p99}; ` +
      `${latency.flux.messages} messages) | ${verdict(latency.flux.addedMs.p99 < 1)} |`,
    `| peak RSS under 100 MB for 10 hours of audio | ${full.peakRssMb} MB (${full.audioSeconds / 3600} h in ` +
      `${full.wallSeconds} s; RSS ${full.rssMbAt10Percent} / ${full.rssMbAt50Percent} / ${full.rssMbAt90Percent} MB ` +
      `at 10 / 50 / 90 %) | ${verdict(full.peakRssMb < 100)} |`,
    `| peak RSS within 16 MiB of a raw ws send loop (${versus.audioSeconds / 3600} h, median of ${versus.rounds}) | ` +
      `Duplex ${versus.duplex.peakRssMb} MB, raw ws ${versus.raw.peakRssMb} MB: ${versus.rssAboveRawMb} MB above | ` +
      `${verdict(versus.rssAboveRawMb <= 16)} |`,
    `| client CPU within 1.05x of that loop | ${versus.duplex.cpuSecondsPerAudioHour} vs ` +
      `${versus.raw.cpuSecondsPerAudioHour} s per audio hour: ${versus.cpuVsRaw}x | ` +
      `${verdict(versus.cpuVsRaw <= 1.05)} |`,
    `| 500 streams in one process | ${most.streams} streams: ${most.audioSecondsPerSecond} audio s per s in all, ` +
      `p99 ${most.p99Ms} ms | ${verdict(most.streams >= 500)} |`,
    '',
    `Memory, peak RSS: ${memory.rows.map((r: any) => `${r.name} ${r.peakRssMb} MB`).join('; ')}. ` +
      `Scale: ${scale.rows.map(scaleRow).join('; ')} ` +
      '(latency at scale: each stream sends 100 ms every 100 ms to an echo server). ' +
      `Decoding ${decoding.audioSeconds / 60} minutes of MP3: decoder stage ${decoding.stageMs} ms, ffmpeg ` +
      `command line ${decoding.ffmpegCliMs} ms. ` +
      `Batch: ${batch.files} files of ${batch.audioSecondsEach} s at ${batch.concurrency} streams against a server ` +
      `at ${batch.realtimeFactor}x took ${batch.wallSeconds} s; ` +
      `total audio / (${batch.concurrency} x ${batch.realtimeFactor}) is ${batch.idealSeconds} s.`,
    '',
    ...floors(verdict),
  ];
  return lines.join('\n');
}

export function publish(): void {
  const all = Object.fromEntries(['throughput', 'latency', 'memory', 'scale'].map((name) => [name, load(name)]));
  writeFileSync(`${root}bench/results/chart.svg`, chart(all));
  const path = `${root}README.md`;
  const readme = readFileSync(path, 'utf8');
  writeFileSync(
    path,
    readme.replace(/<!-- bench -->[\s\S]*<!-- \/bench -->/, `<!-- bench -->\n${summary()}\n<!-- /bench -->`),
  );
}

// `node build/bench/summary.js` publishes saved results again without running the benchmarks.
if (process.argv[1] === fileURLToPath(import.meta.url)) publish();
