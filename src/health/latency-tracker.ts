/**
 * Peak-EWMA latency and in-flight counts per endpoint (Finagle's / linkerd's load metric). A sample above
 * the estimate replaces it at once (the peak); a sample below pulls it down with weight
 * `1 - exp(-elapsed / decay)`, elapsed being the time since the previous sample. The load score is
 * `estimate × (inflight + 1)`, lower is better.
 *
 * Two additions for a gateway whose endpoints can sit idle: an endpoint without samples starts at a
 * neutral estimate (the median of measured endpoints, or a fixed value) so a new endpoint is not herded
 * to; and an idle estimate drifts back to that neutral value with the same time constant, so an
 * endpoint that was slow once is retried eventually instead of being starved for ever. (Finagle and
 * tower drift towards 0 instead, which would herd every request to an idle endpoint while its first
 * slow answer is pending.) Reads are O(1) and allocation-free.
 */
import type { Clock } from '../util/clock.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { LatencyOptions } from './health-options.js';

/** The neutral estimate when no endpoint has a sample yet and `initial` is `'median'`. */
export const FALLBACK_LATENCY_MS = 100;

interface LatencyEntry {
  /** Stored estimate (ms), as of `stamp`. */
  cost: number;
  /** `Clock.monotonic()` of the last sample. */
  stamp: number;
  samples: number;
  inflight: number;
  /** Connection limit (`connections`, 0 = none): at it, further attempts wait in the queue. */
  readonly connections: number;
  /** `Clock.monotonic()` of the endpoint's latest answer (response headers) to any request. */
  answeredAt: number;
}

/**
 * An endpoint whose every connection is busy scores this many times worse: a pick prefers any endpoint
 * with a free connection, and falls back to waiting in the full one's queue only among full ones.
 */
const FULL_PENALTY = 1000;

export class LatencyTracker {
  readonly #clock: Clock;
  #decay: number;
  #initial: number | 'median';
  readonly #entries = new Map<string, LatencyEntry>();
  /** Scratch space for the median, sized once. */
  #scratch: Float64Array;
  #neutral: number;
  #medianAt = Number.NEGATIVE_INFINITY;

  constructor(endpoints: readonly Endpoint[], clock: Clock, options: LatencyOptions) {
    this.#clock = clock;
    this.#decay = Math.max(1, options.decay);
    this.#initial = options.initial;
    this.#neutral = typeof options.initial === 'number' ? options.initial : FALLBACK_LATENCY_MS;
    for (const e of endpoints) this.#entries.set(e.id, newEntry(e));
    this.#scratch = new Float64Array(this.#entries.size);
  }

  /**
   * New settings (a config reload): the decay applies from now on, an explicit initial estimate at once,
   * `median` at the next sample. Samples are kept.
   */
  configure(options: LatencyOptions): void {
    this.#decay = Math.max(1, options.decay);
    this.#initial = options.initial;
    if (typeof options.initial === 'number') this.#neutral = options.initial;
    else this.#medianAt = Number.NEGATIVE_INFINITY;
  }

  /** Track `endpoint` (added by a config reload), without samples; replaces an entry of the same id. */
  add(endpoint: Endpoint): void {
    this.#entries.set(endpoint.id, newEntry(endpoint));
    if (this.#scratch.length < this.#entries.size) this.#scratch = new Float64Array(this.#entries.size);
  }

  /** Stop tracking endpoint `id` (removed by a config reload); its late attempt ends are ignored. */
  remove(id: string): void {
    this.#entries.delete(id);
  }

  /** An attempt to `endpoint` started. */
  attemptStarted(endpoint: Endpoint): void {
    const e = this.#entries.get(endpoint.id);
    if (e) e.inflight++;
  }

  /** An attempt ended; `ttfbMs`, when given, is recorded as a latency sample. */
  attemptEnded(endpoint: Endpoint, ttfbMs?: number): void {
    const e = this.#entries.get(endpoint.id);
    if (!e) return;
    if (e.inflight > 0) e.inflight--;
    if (ttfbMs !== undefined) this.#observe(e, ttfbMs);
  }

  /** The endpoint sent response headers (a sign of life, whatever the status). */
  answered(endpoint: Endpoint): void {
    const e = this.#entries.get(endpoint.id);
    if (e) e.answeredAt = this.#clock.monotonic();
  }

  /** Whether the endpoint answered any request within the last `ms`. */
  answeredWithin(endpoint: Endpoint, ms: number): boolean {
    const e = this.#entries.get(endpoint.id);
    return e !== undefined && this.#clock.monotonic() - e.answeredAt <= ms;
  }

  /**
   * Drop an endpoint's samples (on ejection): they describe the endpoint while broken, and a peak from a
   * hang would otherwise keep it starved for many decay periods after it recovers.
   */
  forget(endpoint: Endpoint): void {
    const e = this.#entries.get(endpoint.id);
    if (!e || e.samples === 0) return;
    e.samples = 0;
    e.cost = 0;
    if (this.#initial === 'median') this.#neutral = this.#median();
  }

  /** The current estimate in ms (neutral for an endpoint without samples). */
  ewma(endpoint: Endpoint): number {
    const e = this.#entries.get(endpoint.id);
    return e ? this.#estimate(e) : Number.POSITIVE_INFINITY;
  }

  inflight(endpoint: Endpoint): number {
    return this.#entries.get(endpoint.id)?.inflight ?? 0;
  }

  samples(endpoint: Endpoint): number {
    return this.#entries.get(endpoint.id)?.samples ?? 0;
  }

  /** `ewma × (inflight + 1)`, × 1000 when every connection is busy; lower is better. Unknown endpoints score +Infinity. */
  score(endpoint: Endpoint): number {
    const e = this.#entries.get(endpoint.id);
    if (!e) return Number.POSITIVE_INFINITY;
    const score = this.#estimate(e) * (e.inflight + 1);
    return e.connections > 0 && e.inflight >= e.connections ? score * FULL_PENALTY : score;
  }

  /** The estimate given to endpoints without samples. */
  neutral(): number {
    return this.#neutral;
  }

  #estimate(e: LatencyEntry): number {
    if (e.samples === 0) return this.#neutral;
    const w = Math.exp(-Math.max(0, this.#clock.monotonic() - e.stamp) / this.#decay);
    return e.cost * w + this.#neutral * (1 - w);
  }

  #observe(e: LatencyEntry, sample: number): void {
    if (!(sample >= 0) || !Number.isFinite(sample)) return;
    const now = this.#clock.monotonic();
    if (e.samples === 0 || sample > e.cost) {
      e.cost = sample;
    } else {
      const w = Math.exp(-Math.max(0, now - e.stamp) / this.#decay);
      e.cost = e.cost * w + sample * (1 - w);
    }
    e.stamp = now;
    e.samples++;
    // The neutral estimate moves slowly: recompute the median at most every 100 ms, not per sample.
    if (this.#initial === 'median' && (e.samples === 1 || now - this.#medianAt >= 100)) {
      this.#medianAt = now;
      this.#neutral = this.#median();
    }
  }

  /** Median of the stored estimates of measured endpoints (not on the read path). */
  #median(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.samples > 0) this.#scratch[n++] = e.cost;
    if (n === 0) return FALLBACK_LATENCY_MS;
    const sorted = this.#scratch.subarray(0, n).sort();
    return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}

function newEntry(e: Endpoint): LatencyEntry {
  return { cost: 0, stamp: 0, samples: 0, inflight: 0, connections: e.connections, answeredAt: Number.NEGATIVE_INFINITY };
}
