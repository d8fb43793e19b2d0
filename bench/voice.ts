// Speech out, measured. (1) The speak stream against a raw ws loop doing the same job (Speak messages in, every
// audio frame out, Flushed, Close), the local server in its own process so that the client is what is measured.
// (2) The voice loop: the fixture streamed in real time into the local server's /v1/listen; at the end of each turn
// a reply is flushed into a speak stream: how long from the end of the speaker's last word to the reply's first
// audio byte, and speak's own time to first byte, with the server's ttfbMs knob at 0 and at 250 ms to show both
// are measured. `node build/bench/voice.js [--quick]` runs just this.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createListenStream, createSpeakStream, type ServerMessage } from '../lib/index.js';
import { childServer, measure, median, percentile, round } from './support.js';

const QUERY = { model: 'aura-2-thalia-en', encoding: 'linear16', sample_rate: 24000 } as const;
const LIMITS = { charactersPerMinute: 1e9, flushesPerMinute: 1e9 };
const SENTENCE = 'This is a sentence of about the length people say in one breath, or so. ';

/** The speak Duplex: `replies` texts, each flushed, every byte read. */
async function speakDuplex(url: string, replies: number): Promise<number> {
  const speak = createSpeakStream({ url, query: QUERY, limits: LIMITS });
  let bytes = 0;
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => ((bytes += chunk.length), done()) });
  const texts = async function* () {
    for (let i = 0; i < replies; i++) {
      yield SENTENCE;
      speak.flush();
    }
  };
  await pipeline(Readable.from(texts()), speak, sink);
  return bytes;
}

/** A raw ws loop doing the same: Speak and Flush per reply, count audio until the last Flushed, Close. */
async function rawSpeak(url: string, replies: number): Promise<number> {
  const ws = new WebSocket(`${url}/v1/speak?model=${QUERY.model}&encoding=linear16&sample_rate=24000`);
  await once(ws, 'open');
  let bytes = 0;
  let flushed = 0;
  const done = new Promise<void>((resolve) =>
    ws.on('message', (data: Buffer, binary) => {
      if (binary) bytes += data.length;
      else if (JSON.parse(String(data)).type === 'Flushed' && ++flushed === replies) resolve();
    }),
  );
  for (let i = 0; i < replies; i++) {
    ws.send(JSON.stringify({ type: 'Speak', text: SENTENCE }));
    ws.send(JSON.stringify({ type: 'Flush' }));
  }
  await done;
  ws.send(JSON.stringify({ type: 'Close' }));
  await once(ws, 'close');
  return bytes;
}

async function throughput(quick: boolean) {
  const replies = quick ? 200 : 1000;
  const rounds = quick ? 3 : 5;
  const server = await childServer('local', { speak: { ttfbMs: 0, limits: LIMITS } });
  const contenders = { 'raw ws (speak)': rawSpeak, 'speak Duplex': speakDuplex };
  const samples = new Map(Object.keys(contenders).map((name) => [name, { cpu: [] as number[], wall: [] as number[] }]));
  let audioBytes = 0;
  await speakDuplex(server.url, 5);
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(contenders)) {
      const { cpuMs, wallMs, result } = await measure(() => run(server.url, replies));
      audioBytes = result;
      samples.get(name)!.cpu.push(cpuMs);
      samples.get(name)!.wall.push(wallMs);
    }
  }
  await server.close();
  const audioHours = audioBytes / 48000 / 3600;
  const rows = [...samples].map(([name, s]) => ({
    name,
    cpuSecondsPerAudioHour: round(median(s.cpu) / 1000 / audioHours, 3),
    wallMs: round(median(s.wall), 0),
  }));
  const raw = rows[0];
  return {
    replies,
    audioSeconds: round(audioBytes / 48000, 1),
    rounds,
    rows: rows.map((r) => ({ ...r, cpuVsRawWs: round(r.cpuSecondsPerAudioHour / raw.cpuSecondsPerAudioHour, 2) })),
  };
}

/** One run of the loop at real-time pace, with the server's time to first byte set to `ttfbMs`. */
async function loop(ttfbMs: number) {
  const server = await childServer('local', { realtimeFactor: 1, speak: { ttfbMs } });
  const audio = readFileSync(fileURLToPath(new URL('../../test/fixtures/speech.raw', import.meta.url)));
  const listen = createListenStream({ url: server.url, query: { encoding: 'linear16', sample_rate: 16000 } });
  const speak = createSpeakStream({ url: server.url, query: QUERY });
  const turnToAudio: number[] = [];
  const firstByte: number[] = [];
  let asked: { flushAt: number; turnEndAt: number } | undefined;
  speak.on('data', () => {
    if (!asked) return;
    turnToAudio.push(performance.now() - asked.turnEndAt);
    firstByte.push(performance.now() - asked.flushAt);
    asked = undefined;
  });
  const started = performance.now();
  listen.on('data', (m: ServerMessage) => {
    if (m.type !== 'Results' || !m.speech_final) return;
    const words = m.channel.alternatives[0].words;
    if (words.length === 0) return;
    speak.write('Okay. ');
    speak.flush();
    // The speaker's last word ended at this audio time, written at this wall time (real-time pace).
    asked = { flushAt: performance.now(), turnEndAt: started + words.at(-1)!.end * 1000 };
  });
  for (let at = 0; at < audio.length; at += 3200) {
    listen.write(audio.subarray(at, at + 3200));
    const due = started + ((at + 3200) / 32000) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  listen.end();
  for await (const _ of listen);
  speak.end();
  speak.resume();
  await once(speak, 'close');
  await server.close();
  const p = (values: number[], at: number) => round(percentile(values, at), 0);
  return {
    serverTtfbMs: ttfbMs,
    replies: firstByte.length,
    turnEndToReplyAudioMs: { p50: p(turnToAudio, 50), p95: p(turnToAudio, 95) },
    speakFirstByteMs: { p50: p(firstByte, 50), p95: p(firstByte, 95) },
  };
}

export async function voice(quick: boolean) {
  return { throughput: await throughput(quick), loop: [await loop(0), await loop(250)] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await voice(process.argv.includes('--quick')), null, 2));
}
