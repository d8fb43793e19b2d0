import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { DeepgramError } from '../listen/errors.js';

let resolved: string | undefined;

function runs(command: string): boolean {
  const result = spawnSync(command, ['-version'], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/**
 * The FFmpeg binary to run: `FFMPEG_PATH` when set (and only it: a mistyped path is an error, never a quiet fall back
 * to another FFmpeg), else an `ffmpeg` on PATH, else the one that `@ffmpeg-installer/ffmpeg` ships inside its npm
 * package. Throws a clear error when there is none.
 */
export function ffmpegCommand(): string {
  return (resolved ??= chooseFfmpeg(process.env.FFMPEG_PATH));
}

/** The FFmpeg `ffmpegCommand()` runs, for a given `FFMPEG_PATH` (undefined: unset). */
export function chooseFfmpeg(path: string | undefined): string {
  if (path !== undefined && path !== '') {
    if (runs(path)) return path;
    throw new DeepgramError('DG_DECODE', `FFMPEG_PATH is ${path}, which does not run as FFmpeg: fix it, or unset it`);
  }
  const candidates = ['ffmpeg'];
  try {
    candidates.push((createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path);
  } catch {
    // The bundled binary is optional: a system ffmpeg serves as well.
  }
  return firstWorking(candidates);
}

/** The first candidate that runs, or an error that says how to get FFmpeg. */
export function firstWorking(candidates: (string | undefined)[]): string {
  const found = candidates.find((candidate) => candidate && runs(candidate));
  if (found) return found;
  throw new DeepgramError(
    'DG_DECODE',
    'FFmpeg was not found: run `npm install @ffmpeg-installer/ffmpeg`, install it (`apt-get install ffmpeg`), or ' +
      'set FFMPEG_PATH to its binary',
  );
}

/** A running FFmpeg: its process, and what its end means. */
export interface FfmpegRun {
  child: ChildProcessWithoutNullStreams;
  /**
   * Settles once FFmpeg has exited and its output has ended: undefined for a success, else an error in FFmpeg's
   * own words. A failed exit is a failure; so is no output at all from input that was not empty (FFmpeg exits 0 on
   * an MP4 it cannot seek in). Killed by us (`kill()`) is neither.
   */
  outcome: Promise<Error | undefined>;
  kill(): void;
}

/**
 * Runs FFmpeg, the one way the toolkit does for the client and the server: output on stdout, the tail of what it
 * says kept for errors, `inputBytes()` telling how much input it was given.
 */
export function runFfmpeg(args: string[], inputBytes: () => number): FfmpegRun {
  const child = spawn(ffmpegCommand(), ['-hide_banner', '-loglevel', 'warning', '-nostdin', ...args]);
  let said = '';
  let outputBytes = 0;
  let killed = false;
  child.stderr.on('data', (chunk: Buffer) => (said = (said + chunk.toString()).slice(-4096)));
  child.stdout.on('data', (chunk: Buffer) => (outputBytes += chunk.length));
  // FFmpeg stopping early (bad input) closes its stdin: that is reported through the exit, not as a crash.
  child.stdin.on('error', () => {});
  const ended = new Promise<void>((resolve) => child.stdout.once('close', resolve));
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => ((said = error.message), resolve(-1)));
    child.once('exit', (code) => resolve(code));
  });
  const outcome = Promise.all([exited, ended]).then(([code]) => {
    if (killed) return undefined;
    const lines = said
      .trim()
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const words = [...new Set(lines)].slice(-2).join('; ');
    if (code !== 0)
      return new DeepgramError('DG_DECODE', `FFmpeg could not decode the input: ${words || `exit code ${code}`}`);
    if (outputBytes === 0 && inputBytes() > 0) {
      const why = `FFmpeg decoded no audio from ${inputBytes()} bytes of input: ${words || 'it said nothing'}`;
      return new DeepgramError('DG_DECODE', why);
    }
    return undefined;
  });
  return {
    child,
    outcome,
    kill() {
      killed = true;
      child.kill('SIGKILL');
    },
  };
}
