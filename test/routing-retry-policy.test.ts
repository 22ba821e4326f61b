import t from 'tap';
import type { AttemptOutcome, LocalOriginFailure } from '../src/health/attempt-outcome.js';
import type { Endpoint } from '../src/registry/endpoint.js';
import { hedgeDelay, HEDGING_OFF, shouldHedge } from '../src/routing/hedge-policy.js';
import {
  DEFAULT_RETRY_POLICY,
  isIdempotent,
  isRetryable,
  neverReachedUpstream,
  type FailedAttempt,
  type RetryPolicy,
} from '../src/routing/retry-policy.js';

const local = (failure: LocalOriginFailure): FailedAttempt => ({ kind: 'local_origin', failure });
const status = (s: number): FailedAttempt => ({ kind: 'status', status: s });
const strict: RetryPolicy = { ...DEFAULT_RETRY_POLICY, nonIdempotent: false };

// [failure, method, responseStarted, policy, expected]
const table: [string, FailedAttempt, string, boolean, RetryPolicy, boolean][] = [
  ['connect refused', local('connect_refused'), 'POST', false, strict, true],
  ['connect timeout', local('connect_timeout'), 'POST', false, strict, true],
  ['reset, POST, default policy', local('reset'), 'POST', false, DEFAULT_RETRY_POLICY, true],
  ['reset, POST, strict policy', local('reset'), 'POST', false, strict, false],
  ['reset, GET, strict policy', local('reset'), 'GET', false, strict, true],
  ['first-byte timeout, POST', local('first_byte_timeout'), 'POST', false, DEFAULT_RETRY_POLICY, true],
  ['first-byte timeout, POST, strict', local('first_byte_timeout'), 'POST', false, strict, false],
  ['idle timeout (upstream already answered)', local('idle_timeout'), 'GET', false, DEFAULT_RETRY_POLICY, false],
  ['429', { kind: 'rate_limited' }, 'POST', false, DEFAULT_RETRY_POLICY, true],
  ['502', status(502), 'POST', false, DEFAULT_RETRY_POLICY, true],
  ['503 as upstream_5xx', { kind: 'upstream_5xx', status: 503 }, 'POST', false, DEFAULT_RETRY_POLICY, true],
  ['504', status(504), 'PUT', false, strict, true],
  ['503, POST, strict', status(503), 'POST', false, strict, false],
  ['500 is not listed', status(500), 'GET', false, DEFAULT_RETRY_POLICY, false],
  ['404 answer', { kind: 'success', status: 404 }, 'GET', false, DEFAULT_RETRY_POLICY, false],
  ['listed 409 answer', { kind: 'success', status: 409 }, 'GET', false, { statuses: [409], nonIdempotent: true }, true],
  ['429 not listed', { kind: 'rate_limited' }, 'GET', false, { statuses: [503], nonIdempotent: true }, false],
  ['cancelled', { kind: 'cancelled' }, 'GET', false, DEFAULT_RETRY_POLICY, false],
  ['connect refused after a response byte', local('connect_refused'), 'GET', true, DEFAULT_RETRY_POLICY, false],
  ['503 after a response byte', status(503), 'GET', true, DEFAULT_RETRY_POLICY, false],
];

t.test('retry policy table', async (t) => {
  for (const [name, failure, method, responseStarted, policy, expected] of table) {
    t.equal(isRetryable(failure, { method, responseStarted }, policy), expected, name);
  }
});

t.test('the default policy retries the default statuses', async (t) => {
  t.same(DEFAULT_RETRY_POLICY, { statuses: [429, 502, 503, 504], nonIdempotent: true });
  t.equal(isRetryable(status(503), { method: 'POST', responseStarted: false }), true, 'policy argument is optional');
});

t.test('attempt outcomes from the health module are accepted as they are', async (t) => {
  const endpoint = { id: 'e' } as Endpoint;
  const outcomes: AttemptOutcome[] = [
    { kind: 'local_origin', endpoint, failure: 'connect_refused', elapsedMs: 1 },
    { kind: 'upstream_5xx', endpoint, status: 502, ttfbMs: 5 },
    { kind: 'rate_limited', endpoint, retryAfterMs: 0, ttfbMs: 5, sharedCredentials: false },
    { kind: 'success', endpoint, status: 200, ttfbMs: 5 },
  ];
  t.same(
    outcomes.map((o) => isRetryable(o, { method: 'POST', responseStarted: false })),
    [true, true, true, false],
  );
});

t.test('idempotent methods and free retries', async (t) => {
  t.same(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'].map(isIdempotent), [true, true, true, true, true, true]);
  t.same(['POST', 'PATCH', 'CONNECT'].map(isIdempotent), [false, false, false]);
  t.equal(neverReachedUpstream(local('connect_refused')), true);
  t.equal(neverReachedUpstream(local('connect_timeout')), true);
  t.equal(neverReachedUpstream(local('reset')), false);
  t.equal(neverReachedUpstream(status(503)), false);
});

t.test('hedge policy', async (t) => {
  const fresh = { hedgesStarted: 0, responseStarted: false };
  t.equal(hedgeDelay(HEDGING_OFF, fresh), undefined, 'off by default');
  t.equal(shouldHedge(HEDGING_OFF, fresh, 1e9), false);
  const on = { after: 200 };
  t.equal(hedgeDelay(on, fresh), 200);
  t.equal(shouldHedge(on, fresh, 199), false);
  t.equal(shouldHedge(on, fresh, 200), true);
  t.equal(shouldHedge(on, { hedgesStarted: 1, responseStarted: false }, 500), false, 'one hedge by default');
  t.equal(shouldHedge({ after: 200, maxHedges: 2 }, { hedgesStarted: 1, responseStarted: false }, 500), true);
  t.equal(shouldHedge(on, { hedgesStarted: 0, responseStarted: true }, 500), false, 'never after a response byte');
});
