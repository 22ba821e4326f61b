/**
 * Health tracking: active probes, passive outlier detection, per-endpoint breakers, peak-EWMA latency
 * and named transitions, behind the `HealthTracker` facade.
 */
export type { AttemptObserver, AttemptOutcome, LocalOriginFailure } from './attempt-outcome.js';
export { BREAKER_STATES, BucketRotator, EndpointBreaker, type BreakerCounts, type BreakerState, type EndpointBreakerInit } from './endpoint-breaker.js';
export {
  MIN_PROBE_INTERVAL,
  settleHealthOptions,
  type BreakerOptions,
  type HealthOptions,
  type LatencyOptions,
  type OutlierOptions,
  type ProbationOptions,
  type ProbeOptions,
  type RateLimitOptions,
} from './health-options.js';
export { HealthTracker, type EndpointHealthSnapshot, type HealthTrackerInit, type RemoteHealthReport } from './health-tracker.js';
export {
  HEALTH_STATES,
  TRANSITION_CAUSES,
  TransitionEmitter,
  type HealthState,
  type HealthTransition,
  type TransitionCause,
  type TransitionListener,
} from './health-transition.js';
export { createHttpProbe, type HttpProbe, type HttpProbeOptions, type ProbeFn } from './http-probe.js';
export { FALLBACK_LATENCY_MS, LatencyTracker } from './latency-tracker.js';
export { OutlierDetector, ejectionTime, type OutlierCause, type OutlierCounts } from './outlier-detector.js';
export { Prober, type ProbeError, type ProberInit, type ProbeResult, type ProbeStatus } from './prober.js';
