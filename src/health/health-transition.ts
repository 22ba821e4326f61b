/**
 * Health transitions: the one table of endpoint states and transition causes (telemetry counts them by
 * these names), the `HealthTransition` event, and a small typed listener list that emits it.
 *
 * An endpoint's state is one of:
 * - `healthy`: full weight.
 * - `probation`: half-open; a bounded trickle of traffic ramping up to full weight.
 * - `ejected`: not routable (outlier detection, failing probes, an open breaker, an operator or a peer).
 * - `rate_limited`: answered 429; skipped until its Retry-After passes. Not a failure, not an ejection.
 * - `drained`: taken out of rotation on purpose (operator, config reload, a fire drill or a peer); operator
 *   intent, so never routed to, not even in panic.
 */

/** Every endpoint state. When several apply, the strongest wins: drained > ejected > rate_limited > probation > healthy. */
export const HEALTH_STATES = ['healthy', 'probation', 'ejected', 'rate_limited', 'drained'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** Why a transition happened. */
export const TRANSITION_CAUSES = [
  /** Outlier detection: consecutive upstream 5xx answers (500 included). */
  'consecutive_5xx',
  /** Outlier detection: consecutive 502/503/504 answers. */
  'consecutive_gateway_failure',
  /** Outlier detection: consecutive local-origin failures (connect refused, reset, timeouts). */
  'consecutive_local_origin',
  /** Outlier detection: failure percentage over the sliding window. */
  'failure_rate',
  /** A failure while in probation re-ejects at once. */
  'probation_failed',
  /** Active probes failed `unhealthyThreshold` times in a row. */
  'probe_failed',
  /** Active probes passed `healthyThreshold` times in a row after failing. */
  'probe_recovered',
  /** The endpoint's circuit breaker opened (it rejects traffic). */
  'breaker_open',
  /** The breaker's reset timeout passed; it lets a trial through (probation). */
  'breaker_half_open',
  /** An ejection or rate limit expired, or probation completed. */
  'recovered',
  /** A 429 answer; skipped until Retry-After. */
  'rate_limited',
  'drained',
  'undrained',
  /** Applied from a report by another gateway of the fleet. */
  'remote',
  /** An explicit ejection or uneject through the admin API. */
  'operator',
  /** A fire drill through the admin API: drained until the drill ends, whatever the endpoint's health. */
  'drill',
  /** The endpoint's refreshed credential expired and no refresh succeeded (this gateway's own, not shared). */
  'credentials_expired',
  /** A refresh succeeded after `credentials_expired`. */
  'credentials_renewed',
  /** A config reload added the endpoint: it starts in probation. */
  'added',
] as const;
export type TransitionCause = (typeof TRANSITION_CAUSES)[number];

/** A change of one endpoint's state. */
export interface HealthTransition {
  readonly endpointId: string;
  readonly region: string;
  readonly from: HealthState;
  readonly to: HealthState;
  readonly cause: TransitionCause;
  /** Wall-clock time of the change (`Clock.now()`, epoch ms). */
  readonly at: number;
  /** When the new state is expected to end (epoch ms), if known. */
  readonly until?: number;
}

export type TransitionListener = (transition: HealthTransition) => void;

/**
 * A typed listener list. A throwing listener is reported with `process.emitWarning` and does not stop
 * the others: a telemetry bug must never break health tracking on the data path.
 */
export class TransitionEmitter {
  readonly #listeners = new Set<TransitionListener>();

  /** Subscribe; returns the unsubscribe function. */
  on(listener: TransitionListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(transition: HealthTransition): void {
    for (const listener of this.#listeners) {
      try {
        listener(transition);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'RegiongateHealthListenerWarning');
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
