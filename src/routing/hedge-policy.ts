/**
 * Hedging: when an attempt has not answered within `after` ms, start a second attempt on another
 * endpoint and keep whichever answers first (the loser is cancelled). Off by default: a hedge doubles the
 * GPU work of every slow request. The proxy owns the dispatch; this module only decides when.
 *
 * A hedge is extra load like a retry, so the proxy withdraws it from the `RetryBudget` (no budget, no
 * hedge), and it never starts one once a response byte has reached the client.
 */

export interface HedgeOptions {
  /** Start a hedge when no response has arrived this many ms after the previous attempt; undefined = off. */
  readonly after: number | undefined;
  /** At most this many hedges per request (default 1). */
  readonly maxHedges?: number;
}

export const HEDGING_OFF: HedgeOptions = Object.freeze({ after: undefined, maxHedges: 0 });

export interface HedgeState {
  /** Hedges already started for this request. */
  readonly hedgesStarted: number;
  /** Whether any byte of a response has been sent to the client. */
  readonly responseStarted: boolean;
}

/**
 * Milliseconds to wait, from the start of the latest attempt, before the next hedge; undefined when no
 * hedge should be scheduled (hedging off, the limit reached, or the response already started).
 */
export function hedgeDelay(options: HedgeOptions, state: HedgeState): number | undefined {
  if (options.after === undefined || state.responseStarted) return undefined;
  if (state.hedgesStarted >= (options.maxHedges ?? 1)) return undefined;
  return Math.max(0, options.after);
}

/** Whether a hedge should start now, `elapsedMs` after the latest attempt started. */
export function shouldHedge(options: HedgeOptions, state: HedgeState, elapsedMs: number): boolean {
  const delay = hedgeDelay(options, state);
  return delay !== undefined && elapsedMs >= delay;
}
