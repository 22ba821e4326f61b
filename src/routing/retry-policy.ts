/**
 * Which failed attempts may be retried on another endpoint. The rules, first match wins:
 *
 * 1. Never once a response byte has reached the client: the answer is committed.
 * 2. Connect refused / connect timeout: always. The upstream never received the request, so even a
 *    non-idempotent method is safe to send elsewhere.
 * 3. Reset before a response, first-byte timeout, or an answer whose status is listed (`statuses`,
 *    default 429, 502, 503, 504): retried for idempotent methods (RFC 9110 §9.2.2), and for the others
 *    only with `nonIdempotent` (default true: inference calls are POSTs without side effects, so
 *    replaying one costs GPU time, never correctness). Turn it off for upstreams whose POSTs do change
 *    state.
 * 4. Anything else is not retried, including the idle timeout between body chunks: the upstream has
 *    already answered, so the request was processed.
 *
 * Whether the body can be replayed (buffered within the limit) and whether the retry budget allows it are
 * the caller's checks, made after this one.
 */
import type { LocalOriginFailure } from '../health/attempt-outcome.js';

/** What a failed attempt looked like. `AttemptOutcome` (src/health/) is assignable to it. */
export type FailedAttempt =
  | { readonly kind: 'local_origin'; readonly failure: LocalOriginFailure }
  /** An answer with this status (`success` is what the health code calls a non-5xx answer). */
  | { readonly kind: 'upstream_5xx' | 'success' | 'status'; readonly status: number }
  /** A 429 answer. */
  | { readonly kind: 'rate_limited' }
  /** Abandoned (client gone, hedge lost): nothing to retry. */
  | { readonly kind: 'cancelled' };

export interface RetryContext {
  /** The request method, upper case as Node gives it. */
  readonly method: string;
  /** Whether any byte of a response (status line included) has been sent to the client. */
  readonly responseStarted: boolean;
}

export interface RetryPolicy {
  /** Answer statuses that are retried (config `retry.statuses`). */
  readonly statuses: readonly number[];
  /** Retry non-idempotent methods after failures the upstream may have seen (config `retry.nonIdempotent`). */
  readonly nonIdempotent: boolean;
}

export const DEFAULT_RETRY_STATUSES: readonly number[] = Object.freeze([429, 502, 503, 504]);

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  statuses: DEFAULT_RETRY_STATUSES,
  nonIdempotent: true,
});

/** Idempotent methods, RFC 9110 §9.2.2. */
export function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
    case 'PUT':
    case 'DELETE':
      return true;
    default:
      return false;
  }
}

/** Whether `failure` may be retried on another endpoint (see the module comment for the rules). */
export function isRetryable(failure: FailedAttempt, ctx: RetryContext, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  if (ctx.responseStarted) return false;
  const replayable = policy.nonIdempotent || isIdempotent(ctx.method);
  switch (failure.kind) {
    case 'local_origin':
      switch (failure.failure) {
        case 'connect_refused':
        case 'connect_timeout':
          return true;
        case 'reset':
        case 'first_byte_timeout':
          return replayable;
        case 'idle_timeout':
          return false;
      }
      return false;
    case 'rate_limited':
      return replayable && policy.statuses.includes(429);
    case 'upstream_5xx':
    case 'success':
    case 'status':
      return replayable && policy.statuses.includes(failure.status);
    case 'cancelled':
      return false;
  }
}

/** Whether retrying `failure` is free under the retry budget: the upstream never got the request. */
export function neverReachedUpstream(failure: FailedAttempt): boolean {
  return failure.kind === 'local_origin' && (failure.failure === 'connect_refused' || failure.failure === 'connect_timeout');
}
