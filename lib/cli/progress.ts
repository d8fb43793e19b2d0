// Progress on a terminal: a line per file in flight (audio transcribed against its length where known, else bytes
// read), and a line for the whole run (files done of total, and an estimate of the time left).
import type { FileResult, Progress } from '../batch/many.js';

/** Share of a file done: audio transcribed of its length when known, else bytes read of its size. */
function share(p: Progress): number {
  if (p.audioTotal) return Math.min(1, p.transcribedSeconds / p.audioTotal);
  return p.bytesTotal ? Math.min(0.99, p.bytesRead / p.bytesTotal) : 0;
}

const clock = (seconds: number) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;

export function progressView(stderr: NodeJS.WritableStream & { columns?: number }, total: number) {
  const active = new Map<string, Progress>();
  const started = performance.now();
  let finished = 0;
  let drawn = 0;
  let last = 0;
  const draw = (force = false) => {
    const now = performance.now();
    if (!force && now - last < 100) return;
    last = now;
    const width = Math.max(10, Math.min(30, (stderr.columns ?? 80) - 56));
    const lines = [...active.values()].map((p) => {
      const part = share(p);
      const bar = '#'.repeat(Math.round(part * width)).padEnd(width, '-');
      const audio = p.audioTotal
        ? `${p.transcribedSeconds.toFixed(1)}/${p.audioTotal.toFixed(1)} s`
        : `${p.transcribedSeconds.toFixed(1)} s`;
      return `${p.input.slice(-30).padEnd(30)} [${bar}] ${String(Math.round(part * 100)).padStart(3)}% ${audio}`;
    });
    const done = finished + [...active.values()].reduce((sum, p) => sum + share(p), 0);
    const elapsed = (now - started) / 1000;
    const eta = done > 0 ? clock((elapsed * (total - done)) / done) : '?';
    lines.push(`${finished}/${total} file${total === 1 ? '' : 's'}, ${clock(elapsed)} elapsed, about ${eta} left`);
    stderr.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[J`);
    drawn = lines.length;
  };
  return {
    update(p: Progress) {
      active.set(p.input, p);
      draw();
    },
    /** Takes a finished file off the board, and prints a line that stays. */
    finish(result: FileResult, line?: string) {
      active.delete(result.input);
      finished++;
      if (drawn > 0) stderr.write(`\x1b[${drawn}A\x1b[J`);
      drawn = 0;
      if (line) stderr.write(line);
      draw(true);
    },
    /** Clears the board at the end. */
    close() {
      if (drawn > 0) stderr.write(`\x1b[${drawn}A\x1b[J`);
      drawn = 0;
    },
  };
}
