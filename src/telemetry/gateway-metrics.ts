/**
 * The gateway's Prometheus metrics: attempts by endpoint and outcome (an `AttemptObserver`), requests by
 * status class, health transitions by cause, and gauges read at scrape time. Label children are bound
 * once per endpoint, so counting on the data path is an array index and an add.
 */
import type { AttemptObserver, AttemptOutcome } from '../health/attempt-outcome.js';
import type { HealthTracker } from '../health/health-tracker.js';
import { HEALTH_STATES, type HealthTransition } from '../health/health-transition.js';
import type { Endpoint } from '../registry/endpoint.js';
import { Metrics, type Counter, type CounterChild, type HistogramChild } from './metrics.js';
import { METRIC } from './names.js';
import type { OtelMetrics } from './otel-metrics.js';
import { servedStatus, type ServedRequest } from './served-request.js';

const OUTCOMES = ['success', 'local_origin', 'upstream_5xx', 'rate_limited', 'cancelled', 'excused'] as const;
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** The region label of a request no endpoint was tried for (refused, or nothing routable). */
const NO_REGION = 'none';
/** The model label of a request whose model is not a configured id: clients must not grow the label set. */
const OTHER_MODEL = 'other';

interface RegionLatency {
  readonly total: HistogramChild;
  readonly firstByte: HistogramChild;
}

function classIndex(status: number): number {
  return Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
}

export class GatewayMetrics implements AttemptObserver {
  readonly registry = new Metrics();
  readonly #attempts = new Map<string, Record<AttemptOutcome['kind'], CounterChild>>();
  readonly #requests: CounterChild[];
  readonly #transitions;
  readonly #gatewayErrors;
  readonly #latency = new Map<string, RegionLatency>();
  /** Per model label, one child per status class; models are the configured ids plus "other". */
  readonly #byModel = new Map<string, CounterChild[]>();
  readonly #retries: Counter;
  readonly #attemptCounter: Counter;
  readonly #modelRequests: Counter;
  readonly #total: ReturnType<Metrics['histogram']>;
  readonly #firstByte: ReturnType<Metrics['histogram']>;
  readonly #otel: OtelMetrics | undefined;

  /** `otel`: the same request metrics through OpenTelemetry, when a meter provider is registered. */
  constructor(endpoints: readonly Endpoint[], health: HealthTracker, inflight: () => number, otel?: OtelMetrics) {
    this.#otel = otel;
    const m = this.registry;
    this.#attemptCounter = m.counter(METRIC.attempts, 'Upstream attempts by endpoint and outcome.');
    const requests = m.counter(METRIC.requests, 'Client requests answered, by status class.');
    this.#requests = CLASSES.map((c) => requests.labels({ class: c }));
    this.#modelRequests = m.counter(METRIC.requestsByModel, 'Client requests answered, by status class and model (configured ids, else "other").');
    this.#total = m.histogram(METRIC.requestDuration, 'Seconds from a request\'s arrival to the end of its answer, by region of the answering endpoint.');
    this.#firstByte = m.histogram(METRIC.timeToFirstByte, 'Seconds from a request\'s arrival to its response head, by region of the answering endpoint.');
    this.addEndpoints(endpoints, [NO_REGION], [OTHER_MODEL]);
    this.#retries = m.counter(METRIC.retries, 'Retries and hedges, by why the earlier attempt was not used.');
    this.#gatewayErrors = m.counter(METRIC.gatewayErrors, 'Gateway-made error answers, by code.');
    this.#transitions = m.counter(METRIC.transitions, 'Endpoint health transitions, by new state and cause.');
    m.gauge(METRIC.inflight, 'Client requests in flight.', () => [[{}, inflight()]]);
    m.gauge(METRIC.endpointState, 'Endpoint health state (1 for the current state).', () =>
      health.snapshot().flatMap((s) => HEALTH_STATES.map((st) => [{ endpoint: s.id, region: s.region, state: st }, s.state === st ? 1 : 0] as const)),
    );
    m.gauge(METRIC.endpointLatency, 'Peak-EWMA time to first byte per endpoint.', () =>
      health.snapshot().map((s) => [{ endpoint: s.id, region: s.region }, s.ewmaMs] as const),
    );
  }

  /**
   * Series for `endpoints` (at start, and those a config reload adds): their attempts, their regions'
   * latency and their configured models. Series of removed endpoints stay: counters never go back.
   */
  addEndpoints(endpoints: readonly Endpoint[], regions: readonly string[] = [], models: readonly string[] = []): void {
    for (const e of endpoints) {
      const children = {} as Record<AttemptOutcome['kind'], CounterChild>;
      for (const o of OUTCOMES) children[o] = this.#attemptCounter.labels({ endpoint: e.id, region: e.region, outcome: o });
      this.#attempts.set(e.id, children);
    }
    for (const id of new Set([...models, ...endpoints.flatMap((e) => [...(e.models ?? [])])]))
      if (!this.#byModel.has(id)) this.#byModel.set(id, CLASSES.map((c) => this.#modelRequests.labels({ class: c, model: id })));
    for (const region of new Set([...endpoints.map((e) => e.region), ...regions]))
      if (!this.#latency.has(region)) this.#latency.set(region, { total: this.#total.labels({ region }), firstByte: this.#firstByte.labels({ region }) });
  }

  attemptStarted(): void {}

  attemptEnded(outcome: AttemptOutcome): void {
    this.#attempts.get(outcome.endpoint.id)?.[outcome.kind].inc();
  }

  /** A client request ended with `status`; `code` when the gateway made the answer. */
  requestEnded(status: number, code: string | undefined, served?: ServedRequest, now = performance.now()): void {
    this.#requests[classIndex(status)]?.inc();
    if (code !== undefined) this.#gatewayErrors.inc({ code });
    if (served !== undefined) this.#served(served, now);
  }

  #served(r: ServedRequest, now: number): void {
    const status = servedStatus(r);
    const known = r.model !== undefined && this.#byModel.has(r.model);
    const model = known ? this.#byModel.get(r.model as string) : this.#byModel.get(OTHER_MODEL);
    const cls = classIndex(status);
    model?.[cls]?.inc();
    const region = r.endpoint?.region ?? NO_REGION;
    const total = (now - r.startedAt) / 1000;
    const firstByte = r.firstByteAt >= 0 ? (r.firstByteAt - r.startedAt) / 1000 : undefined;
    const latency = this.#latency.get(region);
    if (latency !== undefined) {
      latency.total.observe(total);
      if (firstByte !== undefined) latency.firstByte.observe(firstByte);
    }
    if (r.retryReasons !== undefined) for (const reason of r.retryReasons) this.#retries.inc({ reason });
    this.#otel?.requestEnded({
      statusClass: CLASSES[cls],
      model: known ? (r.model as string) : OTHER_MODEL,
      region,
      totalSeconds: total,
      firstByteSeconds: firstByte,
      retryReasons: r.retryReasons,
    });
  }

  transition(t: HealthTransition): void {
    this.#transitions.inc({ to: t.to, cause: t.cause });
  }
}

/** Report each attempt to several observers (health first, then metrics); the first that knows answers `answeredWithin`. */
export function fanOut(...observers: AttemptObserver[]): AttemptObserver {
  return {
    attemptStarted(endpoint) {
      for (const o of observers) o.attemptStarted(endpoint);
    },
    attemptAnswered(endpoint) {
      for (const o of observers) o.attemptAnswered?.(endpoint);
    },
    attemptEnded(outcome) {
      for (const o of observers) o.attemptEnded(outcome);
    },
    answeredWithin(endpoint, ms) {
      for (const o of observers) if (o.answeredWithin !== undefined) return o.answeredWithin(endpoint, ms);
      return false;
    },
  };
}
