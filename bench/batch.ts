// transcribeMany keeps every slot busy: with the server at 1.25x real time and 50 streams, the wall time
// approaches total audio / (50 x 1.25).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transcribeMany } from '../lib/batch/many.js';
import { childServer, round, speechWav } from './support.js';

export async function batch(quick: boolean) {
  const files = quick ? 60 : 150;
  const seconds = 8;
  const concurrency = 50;
  const factor = 1.25;
  const dir = mkdtempSync(join(tmpdir(), 'dgs-bench-batch-'));
  const wav = speechWav(seconds);
  const inputs = Array.from({ length: files }, (_, i) => {
    const path = join(dir, `file-${i}.wav`);
    writeFileSync(path, wav);
    return path;
  });
  const server = await childServer('local', { realtimeFactor: factor, maxConnections: concurrency });
  const started = performance.now();
  let done = 0;
  for await (const result of transcribeMany(inputs, { url: server.url, concurrency }))
    if (result.status === 'done') done++;
  const wall = (performance.now() - started) / 1000;
  await server.close();
  const ideal = (files * seconds) / (concurrency * factor);
  return {
    files,
    audioSecondsEach: seconds,
    concurrency,
    realtimeFactor: factor,
    done,
    wallSeconds: round(wall, 2),
    idealSeconds: round(ideal, 2),
    efficiency: round(ideal / wall, 3),
  };
}
