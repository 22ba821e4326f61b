/**
 * This gateway's traffic, counted on the data path for the fleet view: plain numbers and a fixed ring of
 * latency samples per region, nothing else (no store, no allocation per request). `take` is called on the
 * summary timer: it reads the cumulative counters and the window's latency percentiles, then starts a
 * new window. Regions are fixed at construction (the registry's), so counting is a map lookup and adds.
 */
import type { AttemptObserver, AttemptOutcome } from '../health/attempt-outcome.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { Clock } from '../util/clock.js';
import { MAX_ERROR_CAUSES } from './fleet-summary.js';
import { histogramOf, type SparseHistogram } from './latency-buckets.js';

/** Latency samples kept per region and window; beyond, the oldest are overwritten. */
const WINDOW_SAMPLES = 1024;

/** One region's traffic as this gateway sees it. Counters are cumulative since start. */
export interface RegionTraffic {
  readonly region: string;
  /** Upstream attempts started toward the region. */
  readonly attempts: number;
  /** Attempts that failed through the endpoint (a connect/reset/timeout failure or a 5xx answer). */
  readonly errors: number;
  readonly inflight: number;
  /** Time to first byte over the last window (ms); null without samples. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** The same window as shared buckets, which merge across gateways (`latency-buckets.ts`). */
  readonly ttfb: SparseHistogram;
  /** Epoch ms (this gateway's clock) of the last attempt started toward the region; null: none yet. */
  readonly lastAttemptAt: number | null;
}

/** The gateway's own client-facing totals, cumulative since start. */
export interface ClientTraffic {
  readonly requests: number;
  /** Answers with a 5xx status: what clients saw as errors. */
  readonly clientErrors: number;
  /**
   * The same errors by cause: the gateway's error code (`RG_ERR_RETRY_BUDGET`, ...), or `http_<status>`
   * for an upstream's 5xx passed on. At most `MAX_ERROR_CAUSES` causes; a copy.
   */
  readonly clientErrorCauses: Readonly<Record<string, number>>;
}

class RegionCounter {
  attempts = 0;
  errors = 0;
  inflight = 0;
  lastAttemptAt: number | null = null;
  readonly samples = new Float64Array(WINDOW_SAMPLES);
  count = 0;

  add(ms: number): void {
    this.samples[this.count % WINDOW_SAMPLES] = ms;
    this.count++;
  }
}

/** The p-quantile (0..1) of sorted values, nearest rank. */
function quantile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export interface Percentiles {
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** The window's samples of `r`, sorted; starts its next window. */
function closeWindow(r: RegionCounter): Float64Array {
  const sorted = r.samples.slice(0, Math.min(r.count, WINDOW_SAMPLES)).sort();
  r.count = 0;
  return sorted;
}

function percentiles(sorted: Float64Array): Percentiles {
  const none = sorted.length === 0;
  return { p50Ms: none ? null : Math.round(quantile(sorted, 0.5)), p99Ms: none ? null : Math.round(quantile(sorted, 0.99)) };
}

export class TrafficTally implements AttemptObserver {
  readonly #clock: Clock;
  readonly #regions = new Map<string, RegionCounter>();
  /** Every region's samples together: the gateway's own percentiles. */
  readonly #all = new RegionCounter();
  #requests = 0;
  #clientErrors = 0;
  readonly #causes = new Map<string, number>();

  constructor(endpoints: readonly Endpoint[], clock: Clock) {
    this.#clock = clock;
    this.addRegions(endpoints);
  }

  /** Count the regions of `endpoints` too (a config reload added them); known regions keep their counts. */
  addRegions(endpoints: readonly Endpoint[]): void {
    for (const e of endpoints) if (!this.#regions.has(e.region)) this.#regions.set(e.region, new RegionCounter());
  }

  attemptStarted(endpoint: Endpoint): void {
    const r = this.#regions.get(endpoint.region);
    if (r === undefined) return;
    r.attempts++;
    r.inflight++;
    r.lastAttemptAt = this.#clock.now();
  }

  attemptEnded(outcome: AttemptOutcome): void {
    const r = this.#regions.get(outcome.endpoint.region);
    if (r === undefined) return;
    r.inflight = Math.max(0, r.inflight - 1);
    if (outcome.kind === 'local_origin' || outcome.kind === 'upstream_5xx') r.errors++;
    if (outcome.kind === 'success' || outcome.kind === 'upstream_5xx' || outcome.kind === 'rate_limited') {
      r.add(outcome.ttfbMs);
      this.#all.add(outcome.ttfbMs);
    }
  }

  /**
   * A client request ended with `status`; `code`, the gateway's error code when it answered itself.
   * Causes beyond `MAX_ERROR_CAUSES` count under `other` (codes are a fixed table, statuses 100).
   */
  requestEnded(status: number, code?: string): void {
    this.#requests++;
    if (status < 500) return;
    this.#clientErrors++;
    let cause = code ?? `http_${status}`;
    if (!this.#causes.has(cause) && this.#causes.size >= MAX_ERROR_CAUSES - 1) cause = 'other';
    this.#causes.set(cause, (this.#causes.get(cause) ?? 0) + 1);
  }

  client(): ClientTraffic {
    return { requests: this.#requests, clientErrors: this.#clientErrors, clientErrorCauses: Object.fromEntries(this.#causes) };
  }

  /** Every region's counters and the closing window's percentiles (all regions' under `all`); starts a new window. */
  take(): { regions: RegionTraffic[]; all: Percentiles } {
    const regions: RegionTraffic[] = [];
    for (const [region, r] of this.#regions) {
      const sorted = closeWindow(r);
      regions.push({ region, attempts: r.attempts, errors: r.errors, inflight: r.inflight, ...percentiles(sorted), ttfb: histogramOf(sorted), lastAttemptAt: r.lastAttemptAt });
    }
    return { regions, all: percentiles(closeWindow(this.#all)) };
  }
}
