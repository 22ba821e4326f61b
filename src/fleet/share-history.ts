/**
 * Where the fleet's traffic went over the last minutes, for the dashboard's chart: on a fixed interval it
 * reads the fleet-wide cumulative attempts and errors per region (`GET /admin/fleet` totals) and keeps the
 * difference since the previous sample, in a fixed ring. A sample is kept whether or not anyone watches,
 * so the chart has history right after the page loads. Counters that went down (a gateway restarted or
 * left the fleet) count as zero for that interval rather than as negative traffic.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

/** Cumulative counters of one region, all gateways together. */
export interface RegionTotals {
  readonly attempts: number;
  readonly errors: number;
}

/** One interval's traffic per region. */
export interface ShareSample {
  /** Epoch ms at the end of the interval. */
  readonly at: number;
  readonly regions: Readonly<Record<string, RegionTotals>>;
}

export interface ShareHistoryOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Samples kept (the chart's width in intervals). */
  readonly size: number;
  readonly totals: () => Readonly<Record<string, RegionTotals>>;
}

export class ShareHistory {
  readonly #o: ShareHistoryOptions;
  readonly #samples: ShareSample[] = [];
  #previous: Readonly<Record<string, RegionTotals>> | undefined;
  #timer: TimerHandle | undefined;

  constructor(opts: ShareHistoryOptions) {
    this.#o = opts;
  }

  start(): void {
    if (this.#timer) return;
    this.#previous = this.#o.totals();
    this.#timer = this.#o.clock.setInterval(() => this.sample(), this.#o.intervalMs);
    this.#timer.unref();
  }

  close(): void {
    this.#o.clock.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Take a sample now (the timer's job; tests call it directly). */
  sample(): void {
    const now = this.#o.totals();
    const before = this.#previous ?? {};
    const regions: Record<string, RegionTotals> = {};
    for (const [name, t] of Object.entries(now)) {
      const b = before[name] ?? { attempts: 0, errors: 0 };
      regions[name] = { attempts: Math.max(0, t.attempts - b.attempts), errors: Math.max(0, t.errors - b.errors) };
    }
    this.#previous = now;
    this.#samples.push({ at: this.#o.clock.now(), regions });
    if (this.#samples.length > this.#o.size) this.#samples.shift();
  }

  /** Oldest first. */
  samples(): readonly ShareSample[] {
    return this.#samples;
  }
}
