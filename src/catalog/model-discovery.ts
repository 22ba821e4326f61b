/**
 * Learns what endpoints configured with `"*"` serve, off the request path: every `interval` each one is
 * asked for its own `GET /v1/models` (bounded by `timeout` and the fetcher's size cap), and the ids are
 * set on the endpoint (`endpoint.reported`), where the picker, the 404 answers and `GET /v1/models` read
 * them. A failed fetch keeps the last good list until it is `3 × interval` old, then the endpoint is
 * back to "may serve any model": missing knowledge never stops a request from being tried. An empty list
 * counts as no knowledge (a server loading its model may list nothing yet).
 *
 * One round at a time (the next is scheduled when a round ends), on the injected clock.
 */
import type { Endpoint, ReportedModels } from '../registry/endpoint.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { ModelListFetch } from './model-list-fetch.js';

/** Rounds a report outlives when fetches fail. */
const KEEP_ROUNDS = 3;

export interface ModelDiscoveryOptions {
  /** Time between rounds; 0 turns discovery off. */
  readonly interval: number;
  /** Longest wait for one endpoint's list. */
  readonly timeout: number;
}

export interface ModelDiscoveryInit {
  readonly endpoints: readonly Endpoint[];
  readonly clock: Clock;
  readonly fetch: ModelListFetch;
  readonly options: ModelDiscoveryOptions;
  readonly logger?: Logger;
}

interface Learner {
  readonly endpoint: Endpoint;
  readonly reported: ReportedModels;
  /** When the last good report stops counting (clock ms); 0 = none. */
  keepUntil: number;
  failing: boolean;
}

export class ModelDiscovery {
  #learners: Learner[];
  readonly #clock: Clock;
  readonly #fetch: ModelListFetch;
  readonly #o: ModelDiscoveryOptions;
  readonly #log: Logger;
  readonly #inflight = new Set<AbortController>();
  #timer: TimerHandle | undefined;
  #round: Promise<void> | undefined;
  #closed = false;
  #started = false;

  constructor(init: ModelDiscoveryInit) {
    this.#learners = learnersOf(init.endpoints);
    this.#clock = init.clock;
    this.#fetch = init.fetch;
    this.#o = init.options;
    this.#log = init.logger ?? silentLogger;
  }

  /**
   * Learn the lists of `"*"` endpoints added by a config reload: a round at once when discovery was
   * started (the first, when no endpoint needed it before).
   */
  add(endpoints: readonly Endpoint[]): void {
    const added = learnersOf(endpoints);
    if (added.length === 0 || this.#closed) return;
    this.#learners = [...this.#learners, ...added];
    if (this.#started) void this.refresh();
  }

  /** Stop learning the lists of endpoints removed by a config reload. */
  remove(endpoints: readonly Endpoint[]): void {
    const gone = new Set(endpoints);
    this.#learners = this.#learners.filter((l) => !gone.has(l.endpoint));
  }

  /** Whether any endpoint has its list learned (some serve `"*"` and discovery is on). */
  get active(): boolean {
    return this.#learners.length > 0 && this.#o.interval > 0;
  }

  /** Start the first round now, then one every `interval`. */
  start(): void {
    this.#started = true;
    if (this.active && this.#round === undefined && this.#timer === undefined) void this.refresh();
  }

  /** Run one round now (resolves when every endpoint answered, failed or timed out). */
  refresh(): Promise<void> {
    this.#round ??= this.#runRound().finally(() => {
      this.#round = undefined;
      if (!this.#closed && this.active) this.#timer = this.#clock.setTimeout(() => void this.#onTimer(), this.#o.interval);
    });
    return this.#round;
  }

  #onTimer(): Promise<void> {
    this.#timer = undefined;
    return this.refresh();
  }

  async #runRound(): Promise<void> {
    await Promise.all(this.#learners.map((l) => this.#learn(l)));
  }

  async #learn(l: Learner): Promise<void> {
    const abort = new AbortController();
    this.#inflight.add(abort);
    const timer = this.#clock.setTimeout(() => abort.abort(new Error(`no model list within ${this.#o.timeout}ms`)), this.#o.timeout);
    try {
      const ids = await this.#fetch(l.endpoint, abort.signal);
      if (this.#closed) return;
      l.reported.models = ids.length > 0 ? new Set(ids) : undefined;
      l.keepUntil = ids.length > 0 ? this.#clock.now() + KEEP_ROUNDS * this.#o.interval : 0;
      if (l.failing) this.#log.info(LOG_EVENT.modelListLearned, { endpoint: l.endpoint.id, models: ids.length });
      l.failing = false;
    } catch (err) {
      if (this.#closed) return;
      if (!l.failing) this.#log.warn(LOG_EVENT.modelListFailed, { endpoint: l.endpoint.id, error: abort.signal.aborted ? String(abort.signal.reason) : String(err) });
      l.failing = true;
      if (l.reported.models !== undefined && this.#clock.now() >= l.keepUntil) l.reported.models = undefined;
    } finally {
      this.#clock.clearTimeout(timer);
      this.#inflight.delete(abort);
    }
  }

  /** Stop the cadence and abort fetches in flight. */
  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const a of this.#inflight) a.abort(new Error('closed'));
  }
}

/** A learner for each endpoint configured with `"*"`. */
function learnersOf(endpoints: readonly Endpoint[]): Learner[] {
  return endpoints.flatMap((endpoint) =>
    endpoint.models === undefined && endpoint.reported !== undefined ? [{ endpoint, reported: endpoint.reported, keepUntil: 0, failing: false }] : [],
  );
}
