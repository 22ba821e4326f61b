/**
 * The latest load signals of each endpoint, their age, and what the picker makes of them.
 *
 * Score (a predicted time to first token, lower is better), per endpoint and requested model:
 *
 *     score = latency × (1 + queueWeight·waiting + kvWeight·kv + runningWeight·running)
 *
 * where `latency` is the health tracker's latency-only score (peak-EWMA time to first byte × (this
 * gateway's in flight + 1)), and `waiting`, `running`, `kv` are the server's state *predicted now* from
 * its last report and this gateway's attempts started and finished since (`load-prediction.ts`), so a
 * burst between two reads does not herd onto the endpoint that looked idle at the last one.
 * A waiting request delays a new one by about one prefill, which scales like the endpoint's own time to
 * first token; KV use near full means preemptions; running sequences slow each decode step a little.
 * The units stay milliseconds, so a near region with a long queue loses to a far idle one: 5 ms with 80
 * waiting scores 5 × 161 = 805, above 40 ms with none. An idle server (no queue, little KV) scores
 * about its latency: the order is latency-only's.
 *
 * Saturated: predicted `waiting ≥ queueSaturation` or `kv ≥ kvSaturation` (the Gateway API Inference
 * Extension's defaults, 5 and 0.8). Predicted KV reaches 0.8 as this gateway fills the server's
 * sequences, so a burst spills to the next region before the near one queues. Signals older than
 * `staleAfter`, or never read, count as missing: the endpoint is scored on latency only and never
 * saturated. Signals are looked up for the requested model, then the unlabelled series, then the sum
 * over every model the server reports (the whole server's load); the in-flight correction is per
 * endpoint (per server), so on a server of several models it counts every model's attempts.
 */
import type { Endpoint } from '../registry/endpoint.js';
import type { Clock } from '../util/clock.js';
import type { Engine, LoadSignals } from './engine-metrics.js';
import { kvShareOf, predictLoad, type LoadPrediction } from './load-prediction.js';

/** `routing.loadSignals` keys a reload cannot change: the scrapers' and the fleet scrape's, set at start. */
export const LOAD_SCORING_NOT_LIVE = ['routing.loadSignals.staleAfter', 'routing.loadSignals.timeout', 'routing.loadSignals.maxBytes'] as const;

export interface LoadScoring {
  readonly staleAfter: number;
  readonly queueSaturation: number;
  readonly kvSaturation: number;
  readonly queueWeight: number;
  readonly kvWeight: number;
  readonly runningWeight: number;
}

/** This gateway's attempts to `endpoint` that have not ended (the health tracker's in-flight count). */
export type InflightFn = (endpoint: Endpoint) => number;

interface Entry {
  byModel: ReadonlyMap<string, LoadSignals>;
  total: LoadSignals;
  /** clock.monotonic() of the last good read; -Infinity = never. */
  at: number;
  /** This gateway's attempts in flight to the endpoint at the read. */
  inflightAtRead: number;
  /** KV share of one running sequence, from the last read that had running sequences. */
  kvShare: number | undefined;
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
  /** The whole server's signals (sum over models), as last reported. */
  total: LoadSignals | null;
  /** The whole server's state predicted now (fresh signals only): what the score and saturation use. */
  predicted: LoadPrediction | null;
  models: Record<string, LoadSignals>;
  lastError: string | null;
}

const NEVER: Omit<Entry, 'lastError'> = { byModel: new Map(), total: { waiting: 0, running: 0, kv: undefined }, at: -Infinity, inflightAtRead: 0, kvShare: undefined };

export class LoadBook {
  readonly #clock: Clock;
  #o: LoadScoring;
  readonly #inflight: InflightFn;
  readonly #entries = new Map<string, Entry>();
  /** Scratch for `score` and `saturated`, which run on every pick: read before the next call. */
  readonly #scratch: LoadPrediction = { waiting: 0, running: 0, kv: undefined };

  constructor(clock: Clock, scoring: LoadScoring, inflight: InflightFn) {
    this.#clock = clock;
    this.#o = scoring;
    this.#inflight = inflight;
  }

  get scoring(): LoadScoring {
    return this.#o;
  }

  /**
   * New saturation thresholds and score weights (a config reload), from the next pick on. `staleAfter`
   * stays: shared reads are judged by the fleet scrape with the value it started with.
   */
  configure(scoring: Omit<LoadScoring, 'staleAfter'>): void {
    const { queueSaturation, kvSaturation, queueWeight, kvWeight, runningWeight } = scoring;
    this.#o = { staleAfter: this.#o.staleAfter, queueSaturation, kvSaturation, queueWeight, kvWeight, runningWeight };
  }

  /** Record a good read. */
  update(endpoint: Endpoint, byModel: ReadonlyMap<string, LoadSignals>, at = this.#clock.monotonic()): void {
    const total: LoadSignals = { waiting: 0, running: 0, kv: undefined };
    for (const s of byModel.values()) {
      total.waiting += s.waiting;
      total.running += s.running;
      if (s.kv !== undefined) total.kv = Math.max(total.kv ?? 0, s.kv);
    }
    const kvShare = kvShareOf(total) ?? this.#entries.get(endpoint.id)?.kvShare;
    this.#entries.set(endpoint.id, { byModel, total, at, inflightAtRead: this.#inflight(endpoint), kvShare, lastError: undefined });
  }

  /** Record a failed read: the last values stay until they are stale. */
  fail(endpoint: Endpoint, reason: string): void {
    const e = this.#entries.get(endpoint.id);
    if (e !== undefined) e.lastError = reason;
    else this.#entries.set(endpoint.id, { ...NEVER, lastError: reason });
  }

  /** The endpoint's fresh signals for `model` as reported, or undefined when stale or missing. */
  signals(endpoint: Endpoint, model: string | undefined): LoadSignals | undefined {
    const e = this.#fresh(endpoint);
    return e === undefined ? undefined : this.#select(e, model);
  }

  /** The server's state for `model` predicted now (see `load-prediction.ts`), or undefined without fresh signals. */
  predicted(endpoint: Endpoint, model: string | undefined, out?: LoadPrediction): LoadPrediction | undefined {
    const e = this.#fresh(endpoint);
    return e === undefined ? undefined : predictLoad(this.#select(e, model), this.#inflight(endpoint), e.inflightAtRead, e.kvShare, out);
  }

  /** `latency` scaled by the endpoint's predicted load (unchanged without fresh signals). */
  score(endpoint: Endpoint, model: string | undefined, latency: number): number {
    const p = this.predicted(endpoint, model, this.#scratch);
    if (p === undefined) return latency;
    const o = this.#o;
    return latency * (1 + o.queueWeight * p.waiting + o.kvWeight * (p.kv ?? 0) + o.runningWeight * p.running);
  }

  saturated(endpoint: Endpoint, model: string | undefined): boolean {
    const p = this.predicted(endpoint, model, this.#scratch);
    return p !== undefined && (p.waiting >= this.#o.queueSaturation || (p.kv ?? 0) >= this.#o.kvSaturation);
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
      fresh: this.#fresh(endpoint) !== undefined,
      saturated: this.saturated(endpoint, undefined),
      total: e !== undefined && age !== undefined ? { ...e.total } : null,
      predicted: this.predicted(endpoint, undefined) ?? null,
      models: e === undefined ? {} : Object.fromEntries([...e.byModel].map(([m, s]) => [m, { ...s }])),
      lastError: e?.lastError ?? null,
    };
  }

  #fresh(endpoint: Endpoint): Entry | undefined {
    const e = this.#entries.get(endpoint.id);
    return e === undefined || this.#clock.monotonic() - e.at > this.#o.staleAfter ? undefined : e;
  }

  #select(e: Entry, model: string | undefined): LoadSignals {
    return (model !== undefined ? e.byModel.get(model) : undefined) ?? e.byModel.get('') ?? e.total;
  }
}
