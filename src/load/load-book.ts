/**
 * The latest load signals of each endpoint, their age, and what the picker makes of them.
 *
 * Score (a predicted time to first token, lower is better), per endpoint and requested model:
 *
 *     score = latency × (1 + queueWeight·waiting + kvWeight·kv + runningWeight·running)
 *
 * where `latency` is the health tracker's peak-EWMA time to first byte × (this gateway's in flight + 1).
 * A waiting request delays a new one by about one prefill, which scales like the endpoint's own time to
 * first token; KV use near full means preemptions; running sequences slow each decode step a little.
 * The units stay milliseconds, so a near region with a long queue loses to a far idle one: 5 ms with 80
 * waiting scores 5 × 161 = 805, above 40 ms with none.
 *
 * Saturated: `waiting ≥ queueSaturation` or `kv ≥ kvSaturation` (the Gateway API Inference Extension's
 * defaults, 5 and 0.8). Signals older than `staleAfter`, or never read, count as missing: the endpoint is
 * scored on latency only and never saturated. Signals are looked up for the requested model, then the
 * unlabelled series, then the sum over every model the server reports (the whole server's load).
 */
import type { Endpoint } from '../registry/endpoint.js';
import type { Clock } from '../util/clock.js';
import type { Engine, LoadSignals } from './engine-metrics.js';

export interface LoadScoring {
  readonly staleAfter: number;
  readonly queueSaturation: number;
  readonly kvSaturation: number;
  readonly queueWeight: number;
  readonly kvWeight: number;
  readonly runningWeight: number;
}

interface Entry {
  byModel: ReadonlyMap<string, LoadSignals>;
  total: LoadSignals;
  /** clock.monotonic() of the last good read; -Infinity = never. */
  at: number;
  lastError: string | undefined;
}

/** What `/admin/state` shows of an endpoint's load signals. */
export interface LoadSignalsSnapshot {
  engine: Engine;
  /** Milliseconds since the last good read (null: never read). */
  ageMs: number | null;
  /** False when stale or missing: the endpoint is scored on latency only. */
  fresh: boolean;
  saturated: boolean;
  /** The whole server's signals (sum over models). */
  total: LoadSignals | null;
  models: Record<string, LoadSignals>;
  lastError: string | null;
}

export class LoadBook {
  readonly #clock: Clock;
  readonly #o: LoadScoring;
  readonly #entries = new Map<string, Entry>();

  constructor(clock: Clock, scoring: LoadScoring) {
    this.#clock = clock;
    this.#o = scoring;
  }

  get scoring(): LoadScoring {
    return this.#o;
  }

  /** Record a good read. */
  update(endpoint: Endpoint, byModel: ReadonlyMap<string, LoadSignals>, at = this.#clock.monotonic()): void {
    const total: LoadSignals = { waiting: 0, running: 0, kv: undefined };
    for (const s of byModel.values()) {
      total.waiting += s.waiting;
      total.running += s.running;
      if (s.kv !== undefined) total.kv = Math.max(total.kv ?? 0, s.kv);
    }
    this.#entries.set(endpoint.id, { byModel, total, at, lastError: undefined });
  }

  /** Record a failed read: the last values stay until they are stale. */
  fail(endpoint: Endpoint, reason: string): void {
    const e = this.#entries.get(endpoint.id);
    if (e !== undefined) e.lastError = reason;
    else this.#entries.set(endpoint.id, { byModel: new Map(), total: { waiting: 0, running: 0, kv: undefined }, at: -Infinity, lastError: reason });
  }

  /** The endpoint's fresh signals for `model`, or undefined when stale or missing. */
  signals(endpoint: Endpoint, model: string | undefined): LoadSignals | undefined {
    const e = this.#entries.get(endpoint.id);
    if (e === undefined || this.#clock.monotonic() - e.at > this.#o.staleAfter) return undefined;
    return (model !== undefined ? e.byModel.get(model) : undefined) ?? e.byModel.get('') ?? e.total;
  }

  /** `latency` scaled by the endpoint's load (unchanged without fresh signals). */
  score(endpoint: Endpoint, model: string | undefined, latency: number): number {
    const s = this.signals(endpoint, model);
    if (s === undefined) return latency;
    const o = this.#o;
    return latency * (1 + o.queueWeight * s.waiting + o.kvWeight * (s.kv ?? 0) + o.runningWeight * s.running);
  }

  saturated(endpoint: Endpoint, model: string | undefined): boolean {
    const s = this.signals(endpoint, model);
    return s !== undefined && (s.waiting >= this.#o.queueSaturation || (s.kv ?? 0) >= this.#o.kvSaturation);
  }

  /** Age of the last good read in ms, or undefined when never read. */
  ageMs(endpoint: Endpoint): number | undefined {
    const e = this.#entries.get(endpoint.id);
    return e === undefined || e.at === -Infinity ? undefined : this.#clock.monotonic() - e.at;
  }

  snapshot(endpoint: Endpoint): LoadSignalsSnapshot | undefined {
    const cfg = endpoint.loadSignals;
    if (cfg === undefined) return undefined;
    const e = this.#entries.get(endpoint.id);
    const age = this.ageMs(endpoint);
    return {
      engine: cfg.engine,
      ageMs: age === undefined ? null : Math.round(age),
      fresh: this.signals(endpoint, undefined) !== undefined,
      saturated: this.saturated(endpoint, undefined),
      total: e !== undefined && age !== undefined ? { ...e.total } : null,
      models: e === undefined ? {} : Object.fromEntries([...e.byModel].map(([m, s]) => [m, { ...s }])),
      lastError: e?.lastError ?? null,
    };
  }
}
