/**
 * What the data path reports about each upstream attempt, for passive health (outlier detection,
 * breakers, latency). Envoy's split: local-origin failures happened on our side of the wire (connect
 * refused, reset before a response, timeouts); upstream failures are answers (5xx). Only failures the
 * data path's classifier (src/proxy/classify-failure.ts) recognises as the endpoint's are reported as
 * `local_origin`; everything else is `excused`, which says nothing of the endpoint.
 */
import type { Endpoint } from '../registry/endpoint.js';

export type LocalOriginFailure = 'connect_refused' | 'connect_timeout' | 'reset' | 'first_byte_timeout' | 'idle_timeout';

export type AttemptOutcome =
  | { readonly kind: 'success'; readonly endpoint: Endpoint; readonly status: number; readonly ttfbMs: number }
  /**
   * `elapsedMs` is the time spent in the failed phase (for a first-byte timeout: since the request was
   * sent). A first-byte timeout is evidence only when the endpoint answered nothing meanwhile.
   */
  | { readonly kind: 'local_origin'; readonly endpoint: Endpoint; readonly failure: LocalOriginFailure; readonly elapsedMs: number }
  /** A 5xx answer; 502/503/504 are gateway failures, other 5xx (500) are counted apart. */
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
  | { readonly kind: 'cancelled'; readonly endpoint: Endpoint; readonly ttfbAtLeastMs?: number }
  /** Failed, but not through the endpoint's fault (the client's, the gateway's own, or unrecognised): no evidence. */
  | { readonly kind: 'excused'; readonly endpoint: Endpoint; readonly code: string };

/** Receives attempt starts and outcomes; the health tracker implements it. */
export interface AttemptObserver {
  attemptStarted(endpoint: Endpoint): void;
  /** The endpoint sent response headers for an attempt (a sign of life, whatever the status). */
  attemptAnswered?(endpoint: Endpoint): void;
  attemptEnded(outcome: AttemptOutcome): void;
  /**
   * Whether `endpoint` answered any request within the last `ms` milliseconds: a first-byte timeout on
   * an endpoint that answered others meanwhile is a slow request, not a hung endpoint.
   */
  answeredWithin?(endpoint: Endpoint, ms: number): boolean;
}

/** 502, 503 and 504: the endpoint says it cannot serve (Envoy's gateway failures), apart from other 5xx. */
export function isGatewayFailure(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}
