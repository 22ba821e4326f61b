/**
 * The admin view of one endpoint's health: a plain, JSON-able object (no Infinity, no undefined)
 * assembled from the tracker's parts. Not on the request path.
 */
import type { Endpoint } from '../registry/endpoint.js';
import type { BreakerState, EndpointBreaker } from './endpoint-breaker.js';
import { recoveryIn, stateUntil, weightFactor, type EndpointHealth } from './endpoint-state.js';
import type { HealthOptions } from './health-options.js';
import type { HealthState, TransitionCause } from './health-transition.js';
import type { LatencyTracker } from './latency-tracker.js';
import type { OutlierDetector } from './outlier-detector.js';
import type { Prober } from './prober.js';

export interface EndpointHealthSnapshot {
  readonly id: string;
  readonly region: string;
  readonly state: HealthState;
  /** Why it is in `state`; null for the initial healthy state. */
  readonly cause: TransitionCause | null;
  /** Since when (epoch ms). */
  readonly since: number;
  /** Expected end of the state (epoch ms), null when unknown or open-ended. */
  readonly until: number | null;
  /** Milliseconds until routable again; null while unknown (a local drain). */
  readonly recoveryInMs: number | null;
  readonly weightFactor: number;
  readonly ewmaMs: number;
  readonly samples: number;
  readonly inflight: number;
  readonly consecutiveLocalOrigin: number;
  readonly consecutive5xx: number;
  readonly ejections: number;
  readonly breaker: BreakerState;
  /** Active probe verdict; `off` when probes are not running. */
  readonly probe: 'up' | 'down' | 'off';
}

export interface SnapshotParts {
  readonly options: HealthOptions;
  readonly latency: LatencyTracker;
  readonly detector: OutlierDetector;
  readonly breaker: EndpointBreaker | undefined;
  readonly prober: Prober | undefined;
  /** `Clock.monotonic()`, the base of the record's times. */
  readonly now: number;
  /** Epoch ms minus monotonic ms: the snapshot's times are epoch ms. */
  readonly wallOffset: number;
}

export function snapshotEndpoint(e: Endpoint, h: EndpointHealth, p: SnapshotParts): EndpointHealthSnapshot {
  const o = p.options;
  const c = p.detector.counters(e);
  const until = stateUntil(h, o.probation.window, o.breaker.resetTimeout);
  const recovery = recoveryIn(h, p.now, o.breaker.resetTimeout, o.interval * o.healthyThreshold);
  return {
    id: e.id,
    region: e.region,
    state: h.state,
    cause: h.reason ?? null,
    since: h.since + p.wallOffset,
    until: until === undefined ? null : until + p.wallOffset,
    recoveryInMs: Number.isFinite(recovery) ? recovery : null,
    weightFactor: weightFactor(h, p.now, o.probation.window, o.probation.minWeight),
    ewmaMs: p.latency.ewma(e),
    samples: p.latency.samples(e),
    inflight: p.latency.inflight(e),
    consecutiveLocalOrigin: c.consecutiveLocalOrigin,
    consecutive5xx: c.consecutive5xx,
    ejections: h.ejections,
    breaker: p.breaker?.state ?? 'closed',
    probe: p.prober ? (p.prober.isUp(e) ? 'up' : 'down') : 'off',
  };
}
