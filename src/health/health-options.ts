/**
 * Health options with their defaults. The top-level probe keys match `health:` in the config schema, so
 * `resolveHealthOptions(config.health)` works as is; the nested groups (outlier, probation, breaker,
 * latency, rateLimit) are ours until the schema grows matching keys. All durations are milliseconds.
 */

/** Active probes (Envoy: active health checking). */
export interface ProbeOptions {
  /** Run active probes at all (passive detection works without them). */
  readonly probes: boolean;
  /** Time between the end of one probe and the start of the next, per endpoint; at least 100 ms. */
  readonly interval: number;
  /** A probe not answered within this counts as failed (and is aborted). */
  readonly timeout: number;
  /** Probed path, appended to the endpoint's origin and base path. */
  readonly path: string;
  /** Fraction of `interval` by which each wait is randomly lengthened or shortened (0..1). */
  readonly jitter: number;
  /** Consecutive probe successes that bring a probe-failed endpoint back. */
  readonly healthyThreshold: number;
  /** Consecutive probe failures that eject an endpoint (cause `probe_failed`). */
  readonly unhealthyThreshold: number;
  /** Statuses that count as a passing probe. */
  readonly expectedStatus: readonly number[];
}

/** Passive outlier detection (Envoy's `outlier_detection`, split local-origin mode). */
export interface OutlierOptions {
  /** Consecutive upstream 5xx answers (500 included) that eject. */
  readonly consecutive5xx: number;
  /** Consecutive 502/503/504 answers that eject (Envoy's gateway failures). */
  readonly consecutiveGatewayFailure: number;
  /** Consecutive local-origin failures (reset, timeouts) that eject. */
  readonly consecutiveLocalOriginFailures: number;
  /** Consecutive local-origin failures that eject when the latest is `connect_refused`. */
  readonly consecutiveConnectRefused: number;
  /** Failure percentage (1..100) over the window that ejects; 0 turns the check off. */
  readonly failurePercentageThreshold: number;
  /** Attempts the window must hold before the failure percentage is judged. */
  readonly failurePercentageRequestVolume: number;
  /** Length of the sliding window (10 buckets). */
  readonly failurePercentageWindow: number;
  /** Ejection time for the first ejection; the n-th lasts `n ×` this. */
  readonly baseEjectionTime: number;
  /** Cap on one ejection's time. */
  readonly maxEjectionTime: number;
  /** Each ejection is shortened by a random fraction up to this (0..1), so a fleet does not retry in step. */
  readonly ejectionJitter: number;
  /** Each full period of this spent healthy forgets one earlier ejection (backoff decays). */
  readonly backoffDecay: number;
  /**
   * Most endpoints (percent of all, 0..100) outlier detection holds ejected at once; at least one may
   * always be ejected (Envoy's `max_ejection_percent`). Further ejections are withheld and counted.
   */
  readonly maxEjectionPercent: number;
}

/** Probation (half-open): the trickle of traffic an endpoint gets before full weight. */
export interface ProbationOptions {
  /** Time to ramp from `minWeight` to full weight; at its end the endpoint is healthy. */
  readonly window: number;
  /** Weight factor at the start of probation (0..1). */
  readonly minWeight: number;
  /** Most attempts in flight to an endpoint in probation. */
  readonly maxConcurrent: number;
}

/** The per-endpoint opossum breaker (error percentage over a rolling window). */
export interface BreakerOptions {
  /** Attempts the rolling window must hold before the breaker may open. */
  readonly volumeThreshold: number;
  /** Failure percentage above which the breaker opens. */
  readonly errorThresholdPercentage: number;
  /** How long the breaker stays open before it lets a trial through (half-open). */
  readonly resetTimeout: number;
  /** Rolling window length (opossum `rollingCountTimeout`). */
  readonly window: number;
  /** Buckets in the window (opossum `rollingCountBuckets`). */
  readonly buckets: number;
}

/** Peak-EWMA latency (time to first byte). */
export interface LatencyOptions {
  /** Time constant of the moving average. */
  readonly decay: number;
  /** Estimate for an endpoint without samples: a fixed number of ms, or the median of measured endpoints. */
  readonly initial: number | 'median';
}

/** 429 handling (only 429s on the gateway's own credentials skip an endpoint). */
export interface RateLimitOptions {
  /** Shortest skip after a 429 (applies when Retry-After is missing or tiny). */
  readonly min: number;
  /** Longest skip, whatever Retry-After says. */
  readonly max: number;
  /** 429s in a row (no other answer between) before the endpoint is skipped. */
  readonly consecutive: number;
}

export interface HealthOptions extends ProbeOptions {
  readonly outlier: OutlierOptions;
  readonly probation: ProbationOptions;
  readonly breaker: BreakerOptions;
  readonly latency: LatencyOptions;
  readonly rateLimit: RateLimitOptions;
}

/** What callers may pass: any subset, groups included. */
export type HealthOptionsInput = Partial<ProbeOptions> & {
  readonly outlier?: Partial<OutlierOptions>;
  readonly probation?: Partial<ProbationOptions>;
  readonly breaker?: Partial<BreakerOptions>;
  readonly latency?: Partial<LatencyOptions>;
  readonly rateLimit?: Partial<RateLimitOptions>;
};

/** The shortest probe interval accepted. */
export const MIN_PROBE_INTERVAL = 100;

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = Object.freeze({
  probes: true,
  interval: 1000,
  timeout: 500,
  path: '/health',
  jitter: 0.1,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  expectedStatus: Object.freeze([200]),
  outlier: Object.freeze({
    consecutive5xx: 5,
    consecutiveGatewayFailure: 3,
    consecutiveLocalOriginFailures: 2,
    consecutiveConnectRefused: 1,
    failurePercentageThreshold: 0,
    failurePercentageRequestVolume: 20,
    failurePercentageWindow: 10_000,
    baseEjectionTime: 2000,
    maxEjectionTime: 60_000,
    ejectionJitter: 0.2,
    backoffDecay: 30_000,
    maxEjectionPercent: 50,
  }),
  probation: Object.freeze({ window: 10_000, minWeight: 0.1, maxConcurrent: 4 }),
  breaker: Object.freeze({ volumeThreshold: 20, errorThresholdPercentage: 50, resetTimeout: 10_000, window: 10_000, buckets: 10 }),
  latency: Object.freeze({ decay: 10_000, initial: 'median' as const }),
  rateLimit: Object.freeze({ min: 1000, max: 30_000, consecutive: 2 }),
});

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Fill in defaults and clamp values into their ranges; the result is frozen. */
export function resolveHealthOptions(input: HealthOptionsInput = {}): HealthOptions {
  const d = DEFAULT_HEALTH_OPTIONS;
  const outlier = { ...d.outlier, ...input.outlier };
  const probation = { ...d.probation, ...input.probation };
  const breaker = { ...d.breaker, ...input.breaker };
  const rateLimit = { ...d.rateLimit, ...input.rateLimit };
  return Object.freeze({
    probes: input.probes ?? d.probes,
    interval: Math.max(MIN_PROBE_INTERVAL, input.interval ?? d.interval),
    timeout: Math.max(1, input.timeout ?? d.timeout),
    path: input.path ?? d.path,
    jitter: clamp(input.jitter ?? d.jitter, 0, 1),
    healthyThreshold: Math.max(1, input.healthyThreshold ?? d.healthyThreshold),
    unhealthyThreshold: Math.max(1, input.unhealthyThreshold ?? d.unhealthyThreshold),
    expectedStatus: Object.freeze([...(input.expectedStatus ?? d.expectedStatus)]),
    outlier: Object.freeze({
      ...outlier,
      consecutive5xx: Math.max(1, outlier.consecutive5xx),
      consecutiveGatewayFailure: Math.max(1, outlier.consecutiveGatewayFailure),
      consecutiveLocalOriginFailures: Math.max(1, outlier.consecutiveLocalOriginFailures),
      consecutiveConnectRefused: Math.max(1, outlier.consecutiveConnectRefused),
      failurePercentageThreshold: clamp(outlier.failurePercentageThreshold, 0, 100),
      failurePercentageWindow: Math.max(10, outlier.failurePercentageWindow),
      maxEjectionTime: Math.max(outlier.baseEjectionTime, outlier.maxEjectionTime),
      ejectionJitter: clamp(outlier.ejectionJitter, 0, 1),
      maxEjectionPercent: clamp(outlier.maxEjectionPercent, 0, 100),
    }),
    probation: Object.freeze({ ...probation, minWeight: clamp(probation.minWeight, 0, 1), maxConcurrent: Math.max(1, probation.maxConcurrent) }),
    breaker: Object.freeze({ ...breaker, buckets: Math.max(1, Math.floor(breaker.buckets)) }),
    latency: Object.freeze({ ...d.latency, ...input.latency }),
    rateLimit: Object.freeze({ ...rateLimit, max: Math.max(rateLimit.min, rateLimit.max), consecutive: Math.max(1, rateLimit.consecutive) }),
  });
}
