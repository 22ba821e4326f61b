/**
 * Passive outlier detection, after Envoy's `outlier_detection` with `split_external_local_origin_errors`:
 * local-origin failures (connect refused, reset, timeouts: we never got an answer) and upstream failures
 * (a 5xx answer) are counted separately.
 *
 * - `consecutiveConnectRefused` (default 1) / `consecutiveLocalOriginFailures` (default 2) local-origin
 *   failures in a row eject; any answer from the endpoint resets that count.
 * - `consecutiveGatewayFailure` (default 3) 502/503/504 answers in a row eject: the endpoint says it cannot
 *   serve. `consecutive5xx` (default 5) counts every 5xx, 500 included, apart (Envoy's split): a 500 is
 *   often about one request, so it takes more of them. A non-5xx answer resets both counts, a
 *   local-origin failure leaves them alone.
 * - Optionally, a failure percentage over a sliding window (10 buckets, lazily rotated on the injected
 *   clock, no timer) ejects once the window holds `failurePercentageRequestVolume` attempts.
 *
 * The detector only judges; the health tracker ejects, and calls `reset()` when it does. 429s, cancelled
 * and excused attempts say nothing of the endpoint and are not recorded. The failure-percentage window
 * counts gateway failures and local-origin failures, not 500s.
 */
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Endpoint } from '../registry/endpoint.js';
import { isGatewayFailure, type AttemptOutcome } from './attempt-outcome.js';
import type { OutlierOptions } from './health-options.js';

/** The causes the detector can return. */
export type OutlierCause = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin' | 'failure_rate';

const WINDOW_BUCKETS = 10;

interface OutlierCounters {
  consecutiveLocalOrigin: number;
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  /** Per bucket: [successes, failures]. */
  readonly window: Int32Array;
  /** Absolute index (monotonic / bucket width) of the newest bucket. */
  head: number;
}

/** What `counters()` reports, for snapshots. */
export interface OutlierCounts {
  readonly consecutiveLocalOrigin: number;
  readonly consecutive5xx: number;
  readonly windowSuccesses: number;
  readonly windowFailures: number;
}

/**
 * How long the `timesEjected`-th ejection lasts: `baseEjectionTime × timesEjected`, capped at
 * `maxEjectionTime`, then shortened by a random fraction up to `ejectionJitter`. The result lies in
 * `[(1 - ejectionJitter) × d, d]` with `d = min(base × n, max)`, so it never exceeds the cap.
 */
export function ejectionTime(o: OutlierOptions, timesEjected: number, random: Random): number {
  const d = Math.min(o.baseEjectionTime * Math.max(1, timesEjected), o.maxEjectionTime);
  return d * (1 - o.ejectionJitter * random());
}

export class OutlierDetector {
  #options: OutlierOptions;
  readonly #clock: Clock;
  #bucketWidth: number;
  readonly #counters = new Map<string, OutlierCounters>();

  constructor(options: OutlierOptions, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
    this.#bucketWidth = Math.max(1, options.failurePercentageWindow / WINDOW_BUCKETS);
  }

  /**
   * New thresholds and ejection times (a config reload), from the next attempt on. The consecutive
   * counts are kept; a new `failurePercentageWindow` starts every window afresh.
   */
  configure(options: OutlierOptions): void {
    const width = Math.max(1, options.failurePercentageWindow / WINDOW_BUCKETS);
    this.#options = options;
    if (width === this.#bucketWidth) return;
    this.#bucketWidth = width;
    const head = this.#index();
    for (const c of this.#counters.values()) {
      c.window.fill(0);
      c.head = head;
    }
  }

  /** Record one finished attempt; returns a cause when the endpoint should be ejected now. */
  record(outcome: AttemptOutcome): OutlierCause | undefined {
    if (outcome.kind === 'cancelled' || outcome.kind === 'rate_limited' || outcome.kind === 'excused') return undefined;
    const c = this.#get(outcome.endpoint);
    const o = this.#options;
    let verdict: OutlierCause | undefined;
    if (outcome.kind === 'local_origin') {
      c.consecutiveLocalOrigin++;
      const limit = outcome.failure === 'connect_refused' ? o.consecutiveConnectRefused : o.consecutiveLocalOriginFailures;
      if (c.consecutiveLocalOrigin >= limit) verdict = 'consecutive_local_origin';
    } else {
      // The endpoint answered: the connection side is fine.
      c.consecutiveLocalOrigin = 0;
      if (outcome.kind === 'upstream_5xx') {
        if (isGatewayFailure(outcome.status)) {
          if (++c.consecutiveGatewayFailure >= o.consecutiveGatewayFailure) verdict = 'consecutive_gateway_failure';
        } else c.consecutiveGatewayFailure = 0;
        if (++c.consecutive5xx >= o.consecutive5xx) verdict ??= 'consecutive_5xx';
      } else {
        c.consecutive5xx = 0;
        c.consecutiveGatewayFailure = 0;
      }
    }
    const failed = outcome.kind === 'local_origin' || (outcome.kind === 'upstream_5xx' && isGatewayFailure(outcome.status));
    if (outcome.kind === 'upstream_5xx' && !failed) return verdict; // a 500 stays out of the window
    if (o.failurePercentageThreshold > 0 && this.#countWindow(c, failed) && verdict === undefined) {
      verdict = 'failure_rate';
    }
    return verdict;
  }

  /** Forget an endpoint's counts (after it was ejected, so probation starts clean). */
  reset(endpoint: Endpoint): void {
    const c = this.#counters.get(endpoint.id);
    if (!c) return;
    c.consecutiveLocalOrigin = 0;
    c.consecutive5xx = 0;
    c.consecutiveGatewayFailure = 0;
    c.window.fill(0);
  }

  counters(endpoint: Endpoint): OutlierCounts {
    const c = this.#counters.get(endpoint.id);
    if (!c) return { consecutiveLocalOrigin: 0, consecutive5xx: 0, windowSuccesses: 0, windowFailures: 0 };
    this.#advance(c);
    let s = 0;
    let f = 0;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      s += c.window[2 * i];
      f += c.window[2 * i + 1];
    }
    return { consecutiveLocalOrigin: c.consecutiveLocalOrigin, consecutive5xx: c.consecutive5xx, windowSuccesses: s, windowFailures: f };
  }

  #get(endpoint: Endpoint): OutlierCounters {
    let c = this.#counters.get(endpoint.id);
    if (!c) {
      c = { consecutiveLocalOrigin: 0, consecutive5xx: 0, consecutiveGatewayFailure: 0, window: new Int32Array(2 * WINDOW_BUCKETS), head: this.#index() };
      this.#counters.set(endpoint.id, c);
    }
    return c;
  }

  #index(): number {
    return Math.floor(this.#clock.monotonic() / this.#bucketWidth);
  }

  /** Zero the buckets that fell out of the window since the last update. */
  #advance(c: OutlierCounters): void {
    const now = this.#index();
    const steps = Math.min(now - c.head, WINDOW_BUCKETS);
    for (let i = 1; i <= steps; i++) {
      const b = (c.head + i) % WINDOW_BUCKETS;
      c.window[2 * b] = 0;
      c.window[2 * b + 1] = 0;
    }
    if (now > c.head) c.head = now;
  }

  /** Count one attempt in the window; true when the failure percentage now calls for ejection. */
  #countWindow(c: OutlierCounters, failed: boolean): boolean {
    this.#advance(c);
    c.window[2 * (c.head % WINDOW_BUCKETS) + (failed ? 1 : 0)]++;
    if (!failed) return false;
    let s = 0;
    let f = 0;
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      s += c.window[2 * i];
      f += c.window[2 * i + 1];
    }
    const o = this.#options;
    return s + f >= o.failurePercentageRequestVolume && (f * 100) / (s + f) >= o.failurePercentageThreshold;
  }
}
