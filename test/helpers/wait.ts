/**
 * Test helpers for waiting on events. A test waits for what it needs to see happen (an event, a state,
 * a line of output), never for a fixed time. Each wait still has a bound, so a broken build fails with a
 * message naming what never happened instead of hanging until tap's per-file timeout. The bound is
 * deliberately generous (far above what a busy two-core machine needs) and is never an assertion about
 * speed: tests assert events, order and counts; figures about speed belong to bench/.
 */

/** How long a test waits for an event before it gives up (not a speed goal; see the header). */
export const EVENT_BOUND_MS = 120_000;

/** `promise`, or a rejection naming `what` if it has not settled within `ms`. */
export function within<T>(what: string | (() => string), promise: Promise<T>, ms = EVENT_BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${ms / 1000} s waiting for ${typeof what === 'string' ? what : what()}`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/**
 * Poll `cond` until it holds, for states that change without an event to listen to (a store's status,
 * a metrics scrape). Rejects naming `what` after `ms`.
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = EVENT_BOUND_MS, stepMs = 25): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`gave up after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The next `n` calls of a listener registered with `on` (which returns an unsubscribe). */
export function nextCalls(what: string, on: (fn: () => void) => () => void, n = 1, ms = EVENT_BOUND_MS): Promise<void> {
  let off: (() => void) | undefined;
  let seen = 0;
  const done = new Promise<void>((resolve) => {
    off = on(() => {
      if (++seen >= n) resolve();
    });
  });
  return within(() => `${what} (${seen} of ${n} seen)`, done, ms).finally(() => off?.());
}
