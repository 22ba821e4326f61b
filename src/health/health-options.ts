/**
 * The shape of resolved health options, as `health:` in the config schema (src/config/schema.ts) gives
 * them: the schema owns the defaults and the ranges; health code takes resolved options. All durations
 * are milliseconds.
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

/**
 * Health settings a reload cannot change (`HealthTracker.configure` keeps them; the reload names them):
 * whether probes run and what they ask for, and the breakers, built per endpoint with their options.
 */
export const HEALTH_NOT_LIVE = ['health.probes', 'health.path', 'health.breaker'] as const;

/** The shortest probe interval accepted (the schema refuses less; the prober holds to it whatever it is given). */
export const MIN_PROBE_INTERVAL = 100;

/**
 * Options from the schema, made consistent across keys that the schema checks one by one: an ejection
 * cap below the base ejection time is raised to it, a 429 skip maximum below its minimum likewise.
 */
export function settleHealthOptions(o: HealthOptions): HealthOptions {
  const outlier = o.outlier.maxEjectionTime >= o.outlier.baseEjectionTime ? o.outlier : { ...o.outlier, maxEjectionTime: o.outlier.baseEjectionTime };
  const rateLimit = o.rateLimit.max >= o.rateLimit.min ? o.rateLimit : { ...o.rateLimit, max: o.rateLimit.min };
  return outlier === o.outlier && rateLimit === o.rateLimit ? o : { ...o, outlier, rateLimit };
}
