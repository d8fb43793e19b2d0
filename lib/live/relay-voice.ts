// The relay answering back: at the end of each of the speaker's turns, the app's `reply` gives text, a speak stream
// says it, and its audio goes to the page as binary frames (linear16), which the page plays. When the speaker
// starts again while the reply is still playing (barge-in), the voice is cleared and the page told to stop.
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { createSpeakStream, type SpeakStreamOptions } from '../speak/stream.js';
import type { SessionMessage } from '../protocol/flux.js';
import { finalOf } from '../transcripts/turns.js';

/** What to say back to what the speaker said: text, or its pieces as an LLM writes them. */
export type Reply = (said: string) => string | Promise<string> | AsyncIterable<string>;

/** The reply audio's format on the page's socket. */
export const REPLY_AUDIO = { encoding: 'linear16', sample_rate: 24000 } as const;
const BYTES_PER_MS = (REPLY_AUDIO.sample_rate * 2) / 1000;

/** A turn's end, with what was said in it; or the speaker starting to speak; or neither. */
function turnOf(message: SessionMessage): { ended: string } | 'speaking' | undefined {
  const final = finalOf(message); // speech_final on /v1, EndOfTurn on Flux
  if (final?.endOfSpeech) return { ended: final.text };
  if (message.type === 'TurnInfo') return message.event === 'StartOfTurn' ? 'speaking' : undefined;
  if (message.type === 'SpeechStarted') return 'speaking';
  return message.type === 'Results' && message.channel.alternatives[0]?.transcript ? 'speaking' : undefined;
}

/**
 * Speaks `reply`'s answers into `ws` for one session whose messages `heard` is told; `finish()` once the session has
 * ended: the reply to its last turn is still written, said and given the time to play.
 */
export function voice(ws: WebSocket, reply: Reply, options: SpeakStreamOptions) {
  const speak = createSpeakStream({
    ...options,
    query: { model: 'aura-2-thalia-en', ...options.query, ...REPLY_AUDIO },
  });
  /** When the page will have played what it was sent (it plays in real time). */
  let playedAt = 0;
  let replies = 0;
  /** The answer being written, if any: the end waits for it. */
  let writing: Promise<void> = Promise.resolve();
  speak.on('data', (audio: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(audio);
    playedAt = Math.max(playedAt, performance.now()) + audio.length / BYTES_PER_MS;
  });
  speak.on('error', () => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ type: 'ReplyFailed' })));

  const answer = async (said: string) => {
    const id = ++replies;
    const text = await reply(said);
    for await (const piece of typeof text === 'string' ? [text] : text) {
      if (id !== replies || !speak.writable) return; // barged in on, or the session ended
      speak.write(piece);
    }
    if (speak.writable) speak.flush();
  };
  return {
    heard(message: SessionMessage): void {
      const turn = turnOf(message);
      const said = typeof turn === 'object' ? turn.ended.trim() : '';
      if ((turn === 'speaking' || said) && playedAt > performance.now()) {
        replies++; // a reply still being written is dropped too
        playedAt = 0;
        speak.clear();
        ws.send(JSON.stringify({ type: 'ReplyStopped' }));
      }
      if (said) writing = answer(said).catch(() => void ws.send(JSON.stringify({ type: 'ReplyFailed' })));
    },
    /** Resolves once the last reply has been said and the page has had the time to play it. */
    async finish(): Promise<void> {
      await writing;
      if (speak.writable) speak.end();
      if (!speak.closed) await once(speak, 'close').catch(() => {});
      const left = playedAt - performance.now();
      if (left > 0 && ws.readyState === ws.OPEN) await sleep(left, undefined, { ref: false });
    },
    destroy(): void {
      speak.destroy();
    },
  };
}
