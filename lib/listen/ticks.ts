// One timer per interval for the periodic work of every stream (its liveness, its KeepAlive): a thousand streams wake
// the process once an interval, their pings going out together, not a thousand times spread over it. A member's
// first tick may come at once: members take it as the start of their first whole interval.

export interface Ticking {
  tick(): void;
}

const TICKERS = new Map<number, { timer: NodeJS.Timeout; members: Set<Ticking> }>();

function tickAll(members: Set<Ticking>): void {
  for (const member of members) member.tick();
}

/** Ticks `member` every `interval` ms, on the timer all members of that interval share, until `stopTicking`. */
export function startTicking(interval: number, member: Ticking): void {
  let ticker = TICKERS.get(interval);
  if (!ticker) {
    const members = new Set<Ticking>();
    ticker = { timer: setInterval(tickAll, interval, members).unref(), members };
    TICKERS.set(interval, ticker);
  }
  ticker.members.add(member);
}

/** No more ticks for `member`; the last member of an interval takes its timer with it. */
export function stopTicking(interval: number, member: Ticking): void {
  const ticker = TICKERS.get(interval);
  if (!ticker?.members.delete(member) || ticker.members.size > 0) return;
  clearInterval(ticker.timer);
  TICKERS.delete(interval);
}
