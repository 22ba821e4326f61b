import t from 'tap';
import {
  DEFAULT_REPLAYABLE_PATHS,
  DEFAULT_RETRY_POLICY,
  isIdempotent,
  isReplayable,
  mayRetry,
  mayRetryStatus,
  type RetryPolicy,
} from '../src/routing/retry-policy.js';

const everything: RetryPolicy = { ...DEFAULT_RETRY_POLICY, nonIdempotent: true };
const req = (method: string, path: string, idempotencyKey = false) => ({ method, path, idempotencyKey });

t.test('inference calls are replayable by default; other POSTs are not', async (t) => {
  for (const p of DEFAULT_REPLAYABLE_PATHS) t.equal(isReplayable(req('POST', p)), true, p);
  t.equal(isReplayable(req('POST', '/v1/chat/completions/')), true, 'a trailing slash names the same route');
  for (const p of ['/v1/files', '/v1/batches', '/v1/fine_tuning/jobs', '/v1/chat/completions/x', '/v1/chat'])
    t.equal(isReplayable(req('POST', p)), false, `POST ${p}`);
  t.equal(isReplayable(req('PATCH', '/v1/files')), false);
});

t.test('idempotent methods, an Idempotency-Key, or nonIdempotent make any request replayable', async (t) => {
  t.equal(isReplayable(req('GET', '/v1/files')), true);
  t.equal(isReplayable(req('DELETE', '/v1/files/f1')), true);
  t.equal(isReplayable(req('POST', '/v1/files', true)), true, 'the server deduplicates on the key');
  t.equal(isReplayable(req('POST', '/v1/files'), everything), true);
  t.equal(isReplayable(req('POST', '/v1/chat/completions'), { ...DEFAULT_RETRY_POLICY, replayablePaths: new Set() }), false, 'paths are configurable');
});

t.test('what may be retried, by retry class', async (t) => {
  // [retry class, replayable, responseStarted, expected]
  const table: [Parameters<typeof mayRetry>[0], boolean, boolean, boolean][] = [
    ['free', false, false, true], // never left the gateway: any method
    ['free', true, true, false], // never after a response byte
    ['replay', true, false, true],
    ['replay', false, false, false],
    ['never', true, false, false],
  ];
  for (const [retry, replayable, started, expected] of table)
    t.equal(mayRetry(retry, replayable, started), expected, `${retry} replayable=${replayable} started=${started}`);
});

t.test('statuses: only the listed ones, only when replayable, never after a byte', async (t) => {
  t.same(DEFAULT_RETRY_POLICY.statuses, [429, 502, 503, 504]);
  t.equal(mayRetryStatus(503, true, false), true);
  t.equal(mayRetryStatus(503, false, false), false, 'a POST /v1/files answered 503 is not replayed');
  t.equal(mayRetryStatus(500, true, false), false, '500 is not listed');
  t.equal(mayRetryStatus(503, true, true), false);
  t.equal(mayRetryStatus(409, true, false, { ...DEFAULT_RETRY_POLICY, statuses: [409] }), true);
});

t.test('idempotent methods', async (t) => {
  t.same(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'].map(isIdempotent), [true, true, true, true, true, true]);
  t.same(['POST', 'PATCH', 'CONNECT'].map(isIdempotent), [false, false, false]);
});
