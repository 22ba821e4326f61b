/**
 * The latest load signals of each endpoint, their age, and what the picker makes of them.
 *
 * Score (a predicted time to first token, lower is better), per endpoint and requested model:
 *
 *     score = latency × (1 + queueWeight·waiting + kvWeight·kv + runningWeight·running)
 *
 * where `waiting` is the reported queue plus the attempts this gateway sent to the endpoint since
 * the read (counted at the pick): between two scrapes a burst would otherwise all go to the endpoint that
 * looked idle at the last one (herding on stale data). Some of those may have finished already; over
 * one scrape interval, the overestimate is small and errs on the side of spilling.
 * Those started requests also raise `kv` by the KV share of one running sequence (kv / running at the
 * read), so an endpoint one sequence short of saturation takes about one more, not a whole burst.
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
  /** `started` of the endpoint at the read. */
  startedAtRead: number;
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

/** KV use with `started` more sequences of the size the running ones have (the reported value when unknown). */
function predictedKv(s: LoadSignals, started: number): number {
  const kv = s.kv ?? 0;
  return started > 0 && s.running > 0 ? kv + (started * kv) / s.running : kv;
}

export class LoadBook {
  readonly #clock: Clock;
  readonly #o: LoadScoring;
  readonly #entries = new Map<string, Entry>();
  /** Attempts this gateway started, per endpoint id. */
  readonly #started = new Map<string, number>();

  constructor(clock: Clock, scoring: LoadScoring) {
    this.#clock = clock;
    this.#o = scoring;
  }

  /** This gateway picked `endpoint` for an attempt (counted until the next read reflects it). */
  attemptStarted(endpoint: Endpoint): void {
    this.#started.set(endpoint.id, (this.#started.get(endpoint.id) ?? 0) + 1);
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
    this.#entries.set(endpoint.id, { byModel, total, at, startedAtRead: this.#started.get(endpoint.id) ?? 0, lastError: undefined });
  }

  /** Record a failed read: the last values stay until they are stale. */
  fail(endpoint: Endpoint, reason: string): void {
    const e = this.#entries.get(endpoint.id);
    if (e !== undefined) e.lastError = reason;
    else this.#entries.set(endpoint.id, { byModel: new Map(), total: { waiting: 0, running: 0, kv: undefined }, at: -Infinity, startedAtRead: 0, lastError: reason });
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
    const started = this.#startedSinceRead(endpoint);
    return latency * (1 + o.queueWeight * (s.waiting + started) + o.kvWeight * predictedKv(s, started) + o.runningWeight * s.running);
  }

  saturated(endpoint: Endpoint, model: string | undefined): boolean {
    const s = this.signals(endpoint, model);
    if (s === undefined) return false;
    const started = this.#startedSinceRead(endpoint);
    return s.waiting + started >= this.#o.queueSaturation || predictedKv(s, started) >= this.#o.kvSaturation;
  }

  /** Attempts this gateway started on the endpoint since the last read. */
  #startedSinceRead(endpoint: Endpoint): number {
    const e = this.#entries.get(endpoint.id);
    return e === undefined ? 0 : (this.#started.get(endpoint.id) ?? 0) - e.startedAtRead;
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
