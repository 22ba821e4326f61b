/**
 * The injected clock. Health, breaker, balancer and shared-state code take a `Clock` instead of calling
 * `Date.now()` / `setTimeout` directly, so their tests run on simulated time (`FakeClock`).
 */

/** A handle returned by `Clock.setTimeout` / `Clock.setInterval`. */
export interface TimerHandle {
  /** Keep the process alive only while something else does (like `Timeout.unref`). */
  unref(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (wall clock, for expiries shared with other gateways). */
  now(): number;
  /** Monotonic milliseconds with sub-ms precision, for measuring durations. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /**
   * `fn(arg)` after `ms`, as Node's `setTimeout(fn, ms, arg)`: with a static `fn`, code that arms a timer
   * per request allocates no closure for it.
   */
  setTimeoutFor<A>(fn: (arg: A) => void, ms: number, arg: A): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setTimeoutFor: (fn, ms, arg) => setTimeout(fn, ms, arg),
  clearTimeout: (h) => {
    if (h !== undefined) clearTimeout(h as unknown as NodeJS.Timeout);
  },
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => {
    if (h !== undefined) clearInterval(h as unknown as NodeJS.Timeout);
  },
};
