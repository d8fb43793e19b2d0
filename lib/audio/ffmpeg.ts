import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { delimiter, dirname } from 'node:path';

let resolved: string | undefined;

function runs(command: string): boolean {
  const result = spawnSync(command, ['-version'], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/**
 * The FFmpeg binary to run: `FFMPEG_PATH`, else an `ffmpeg` on PATH, else the one that
 * `@ffmpeg-installer/ffmpeg` ships inside its npm package. Throws a clear error when there is none.
 */
export function ffmpegCommand(): string {
  if (resolved) return resolved;
  const candidates = [process.env.FFMPEG_PATH, 'ffmpeg'];
  try {
    candidates.push((createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path);
  } catch {
    // The bundled binary is optional: a system ffmpeg serves as well.
  }
  return (resolved = firstWorking(candidates));
}

/** The first candidate that runs, or an error that says how to get FFmpeg. */
export function firstWorking(candidates: (string | undefined)[]): string {
  const found = candidates.find((candidate) => candidate && runs(candidate));
  if (found) return found;
  throw new Error(
    'FFmpeg was not found: run `npm install @ffmpeg-installer/ffmpeg`, install it (`apt-get install ffmpeg`), or ' +
      'set FFMPEG_PATH to its binary',
  );
}

/**
 * prism-media finds FFmpeg only by the command name `ffmpeg`; put the chosen binary's folder first on PATH
 * so that prism runs the same binary as the rest of the toolkit.
 */
export function exposeFfmpegToPrism(): void {
  const command = ffmpegCommand();
  if (command === 'ffmpeg') return;
  const folder = dirname(command);
  const path = process.env.PATH ?? '';
  if (!path.split(delimiter).includes(folder)) process.env.PATH = `${folder}${delimiter}${path}`;
}
