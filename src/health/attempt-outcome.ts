/**
 * What the data path reports about each upstream attempt, for passive health (outlier detection,
 * breakers, latency). Envoy's split: local-origin failures happened on our side of the wire (connect
 * refused, reset before a response, timeouts); upstream failures are answers (5xx).
 */
import type { Endpoint } from '../registry/endpoint.js';

export type LocalOriginFailure = 'connect_refused' | 'connect_timeout' | 'reset' | 'first_byte_timeout' | 'idle_timeout';

export type AttemptOutcome =
  | { readonly kind: 'success'; readonly endpoint: Endpoint; readonly status: number; readonly ttfbMs: number }
  | { readonly kind: 'local_origin'; readonly endpoint: Endpoint; readonly failure: LocalOriginFailure; readonly elapsedMs: number }
  | { readonly kind: 'upstream_5xx'; readonly endpoint: Endpoint; readonly status: number; readonly ttfbMs: number }
  /**
   * A 429. `sharedCredentials`: the gateway sent its own credentials (the endpoint's configured
   * `authorization` / `api-key` / `x-api-key`), so the limit concerns every client, not just this one.
   */
  | {
      readonly kind: 'rate_limited';
      readonly endpoint: Endpoint;
      readonly retryAfterMs: number;
      readonly ttfbMs: number;
      readonly sharedCredentials: boolean;
    }
  /**
   * The attempt was abandoned for a reason that is no failure of the endpoint (client gone, hedge lost).
   * A hedge loser that had not answered yet carries its wait as a lower bound of its time to first byte.
   */
  | { readonly kind: 'cancelled'; readonly endpoint: Endpoint; readonly ttfbAtLeastMs?: number };

/** Receives attempt starts and outcomes; the health tracker implements it. */
export interface AttemptObserver {
  attemptStarted(endpoint: Endpoint): void;
  attemptEnded(outcome: AttemptOutcome): void;
}
