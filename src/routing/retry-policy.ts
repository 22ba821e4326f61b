/**
 * What may run twice. A failed attempt is retried on another endpoint, and a slow one hedged, only under
 * these rules, first match wins:
 *
 * 1. Never once a response byte has reached the client: the answer is committed.
 * 2. A failure before the request left the gateway (connect refused or timed out, no free connection):
 *    always, whatever the method. The endpoint never saw it.
 * 3. A failure the endpoint may have seen (reset, first-byte timeout, a listed status such as 502/503/504
 *    or 429): only when the request is replayable: an idempotent method (RFC 9110 §9.2.2), a request with
 *    an `Idempotency-Key` (the server deduplicates), a path listed in `replayablePaths` (inference calls,
 *    which change no state: chat completions, completions, embeddings, responses), or any request when
 *    `nonIdempotent` is on. `POST /v1/files`, batches and fine-tuning jobs are not replayed by default.
 * 4. Anything else is not retried, including the idle timeout between body chunks (the upstream has
 *    already answered) and failures that are not the endpoint's.
 *
 * A hedge sends the request twice at once, so it is allowed exactly where a replay is (rule 3).
 * Whether the body was buffered and whether the retry budget allows it are the caller's checks.
 */

import type { RetryClass } from '../health/classify-failure.js';

export type { RetryClass };

export interface RetryPolicy {
  /** Answer statuses that are retried (config `retry.statuses`). */
  readonly statuses: readonly number[];
  /** Replay every request the endpoint may have seen, whatever its method and path (config `retry.nonIdempotent`). */
  readonly nonIdempotent: boolean;
  /** Paths (without query) whose requests are replayable whatever the method (config `retry.replayablePaths`). */
  readonly replayablePaths: ReadonlySet<string>;
}

export const DEFAULT_RETRY_STATUSES: readonly number[] = Object.freeze([429, 502, 503, 504]);

/** OpenAI-style inference calls: they create nothing, so running one twice costs compute, never correctness. */
export const DEFAULT_REPLAYABLE_PATHS: readonly string[] = Object.freeze([
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
  '/v1/responses',
]);

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  statuses: DEFAULT_RETRY_STATUSES,
  nonIdempotent: false,
  replayablePaths: new Set(DEFAULT_REPLAYABLE_PATHS),
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

export interface ReplayRequest {
  /** Upper case, as Node gives it. */
  readonly method: string;
  /** The request path without its query. */
  readonly path: string;
  /** Whether the client sent a non-empty `Idempotency-Key`. */
  readonly idempotencyKey: boolean;
}

/** Whether the request may be sent again after the endpoint may have seen it (rule 3), or hedged. */
export function isReplayable(req: ReplayRequest, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  if (policy.nonIdempotent || req.idempotencyKey || isIdempotent(req.method)) return true;
  const p = req.path;
  return policy.replayablePaths.has(p) || (p.length > 1 && p.endsWith('/') && policy.replayablePaths.has(p.slice(0, -1)));
}

/** Whether a failed attempt may be retried elsewhere, given its retry class and the request's replayability. */
export function mayRetry(retry: RetryClass, replayable: boolean, responseStarted: boolean): boolean {
  if (responseStarted) return false;
  return retry === 'free' || (retry === 'replay' && replayable);
}

/** Whether an answer with `status` may be retried elsewhere. */
export function mayRetryStatus(status: number, replayable: boolean, responseStarted: boolean, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  return !responseStarted && replayable && policy.statuses.includes(status);
}
