/** Exponential backoff with full jitter: a random delay up to `initial * 2^(attempt-1)` ms, never above `max`. */
export function backoffDelay(attempt: number, initial: number, max: number): number {
  return Math.random() * Math.min(max, initial * 2 ** (attempt - 1));
}
