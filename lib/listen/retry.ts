// The one retry policy: which failures another try may mend, and how long to wait before it. Batch jobs retry a
// whole input after an error; the listen stream reconnects one session after a close. Where they differ, it is
// said here.
import type { DeepgramError } from './errors.js';
import { CLOSE_DATA_ERROR } from '../protocol/messages.js';

/** Exponential backoff with full jitter: a random delay up to `initial * 2^(attempt-1)` ms, never above `max`. */
export function backoffDelay(attempt: number, initial: number, max: number): number {
  return Math.random() * Math.min(max, initial * 2 ** (attempt - 1));
}

/** A close worth another connection: anything abnormal but 1008, which says the audio itself cannot be decoded. */
export const retryableClose = (code: number): boolean => code !== CLOSE_DATA_ERROR;

/**
 * A refused upgrade worth another try. A batch job waits out a 429 (the account's stream limit) with its long
 * backoff; a reconnect does not (`reconnecting`): its session's slot is gone, and a 429 then means the limit is
 * taken, so it fails at once rather than hold the stream's writes for the length of a batch backoff.
 */
export const retryableStatus = (status: number, reconnecting = false): boolean =>
  status >= 500 || (!reconnecting && status === 429);

const NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND']);

/** Whether trying again may succeed: rate limits, server faults and the network; never bad input or a bad key. */
export function isRetryable(error: unknown): boolean {
  const e = error as Partial<DeepgramError> & { code?: string };
  switch (e.code) {
    case 'DG_HANDSHAKE':
      return retryableStatus(e.status ?? 0);
    case 'DG_CLOSE':
      return retryableClose(e.closeCode ?? 0);
    case 'DG_FETCH':
      // An input URL: its server's faults, its rate limit and the network, as for Deepgram's.
      return e.status === undefined || retryableStatus(e.status);
    case 'DG_CONNECT':
    case 'DG_CONNECT_TIMEOUT':
    case 'DG_CLOSE_TIMEOUT':
    case 'DG_TIMEOUT':
      return true;
    default:
      return NETWORK_ERRORS.has(e.code ?? '');
  }
}
