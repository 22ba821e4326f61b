/**
 * The retry budget, after Finagle's `RetryBudget`: retries may add at most `percent` % to the requests
 * seen over a sliding window of `ttl`, plus a floor of `minRetriesPerSec` so low-traffic gateways can
 * still retry. Each request `deposit()`s; each retry must `tryWithdraw()`. Deposits and withdrawals both
 * expire after `ttl`, so the budget recovers by itself once failures stop.
 *
 * Why not Envoy's concurrency budget (retries ≤ 20% of active requests, min 3): a region dying under 8
 * in-flight requests fails all 8 at once, and that budget would let only 3 of them fail over. Ours holds
 * a reserve of `minRetriesPerSec × ttl` retries (100 by default), so a burst fails over whole, while
 * sustained 100% failure still cannot amplify load beyond `percent` % plus the floor.
 *
 * Free retries: an attempt that never reached an upstream (connect refused, connect timeout) put no load
 * on anyone; its retry is free, and the attempt plan does not withdraw for it. The attempt limit
 * (`retry.attempts`) still bounds those.
 *
 * The window is a ring of `buckets` slots of `ttl / buckets` each: an entry expires between
 * `ttl - ttl/buckets` and `ttl` after it was made. O(1) per call, O(buckets) once per slot change.
 */
import type { Clock } from '../util/clock.js';

/** `retry.budget` from the config schema, which owns the defaults. */
export interface RetryBudgetOptions {
  /** Sliding window in ms. */
  readonly ttl: number;
  /** Retries allowed as a percentage of requests, 0..1000. */
  readonly percent: number;
  /** Floor, in retries per second of `ttl` (10 is a reserve of 100 retries per 10 s). */
  readonly minRetriesPerSec: number;
  /** Slots in the sliding window (not a config key: `WINDOW_BUCKETS` unless a test needs another). */
  readonly buckets?: number;
}

/** Slots in the sliding window: entries expire within a tenth of `ttl` of their due time. */
const WINDOW_BUCKETS = 10;

export interface RetryBudgetInit extends RetryBudgetOptions {
  readonly clock: Clock;
}

/** One retry, in the budget's fixed-point unit (a deposit is worth `percent × 10` of them). */
const RETRY_COST = 1000;

export class RetryBudget {
  readonly #clock: Clock;
  #slotMs: number;
  readonly #slots: Float64Array;
  #depositValue: number;
  #reserve: number;
  #sum = 0;
  #currentSlot: number;

  constructor(options: RetryBudgetInit) {
    const buckets = options.buckets ?? WINDOW_BUCKETS;
    if (!(Number.isInteger(buckets) && buckets >= 1)) throw new RangeError('buckets must be a positive integer');
    checkOptions(options);
    this.#clock = options.clock;
    this.#slotMs = options.ttl / buckets;
    this.#slots = new Float64Array(buckets);
    this.#depositValue = (options.percent / 100) * RETRY_COST;
    this.#reserve = options.minRetriesPerSec * (options.ttl / 1000) * RETRY_COST;
    this.#currentSlot = this.#slotOf(this.#clock.monotonic());
  }

  /**
   * New settings (a config reload). The percentage applies to new requests and the floor at once; a
   * new `ttl` starts a new window (what was deposited and withdrawn is forgotten), the same `ttl` keeps it.
   */
  configure(options: RetryBudgetOptions): void {
    checkOptions(options);
    this.#advance();
    this.#depositValue = (options.percent / 100) * RETRY_COST;
    this.#reserve = options.minRetriesPerSec * (options.ttl / 1000) * RETRY_COST;
    const slotMs = options.ttl / this.#slots.length;
    if (slotMs === this.#slotMs) return;
    this.#slotMs = slotMs;
    this.#slots.fill(0);
    this.#sum = 0;
    this.#currentSlot = this.#slotOf(this.#clock.monotonic());
  }

  /** Record one client request (not a retry): it earns `percent` % of a retry. */
  deposit(): void {
    this.#advance();
    this.#slots[this.#currentSlot % this.#slots.length] += this.#depositValue;
    this.#sum += this.#depositValue;
  }

  /** Ask for one retry. Returns false when the budget is spent (answer the failure instead of retrying). */
  tryWithdraw(): boolean {
    this.#advance();
    if (this.#sum + this.#reserve < RETRY_COST) return false;
    this.#slots[this.#currentSlot % this.#slots.length] -= RETRY_COST;
    this.#sum -= RETRY_COST;
    return true;
  }

  /** Whole retries available now (for metrics and the dashboard). */
  balance(): number {
    this.#advance();
    return Math.max(0, Math.floor((this.#sum + this.#reserve) / RETRY_COST));
  }

  #slotOf(ms: number): number {
    return Math.floor(ms / this.#slotMs);
  }

  /** Expire the slots the clock has moved past. */
  #advance(): void {
    const slot = this.#slotOf(this.#clock.monotonic());
    const gap = slot - this.#currentSlot;
    if (gap <= 0) return; // same slot (or a clock that stepped back: keep the current one)
    const n = this.#slots.length;
    if (gap >= n) this.#slots.fill(0);
    else for (let k = 1; k <= gap; k++) this.#slots[(this.#currentSlot + k) % n] = 0;
    this.#currentSlot = slot;
    // Re-sum instead of subtracting, so fractional deposit values never drift.
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.#slots[i];
    this.#sum = sum;
  }
}

function checkOptions({ ttl, percent, minRetriesPerSec }: RetryBudgetOptions): void {
  if (!(ttl > 0)) throw new RangeError('ttl must be positive');
  if (!(percent >= 0 && percent <= 1000)) throw new RangeError('percent must be within 0..1000');
  if (!(minRetriesPerSec >= 0)) throw new RangeError('minRetriesPerSec must not be negative');
}
