// Zero durations: every duration key where 0 means nothing is refused by name (a zero `timeouts.request`
// used to pass validation and fail every request with a 504); the keys where 0 has a documented meaning
// keep accepting it, and a gateway with those zeros answers requests. A header limit longer than the
// request limit is a config error, not Node's ERR_OUT_OF_RANGE at start-up.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { resolveConfig } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';
import { startGateway, startSim } from './helpers/gateway.js';

/** Every duration key where 0 is refused, as a nested document path. */
const REFUSED = [
  'state.redis.commandTimeout',
  'state.redis.connectTimeout',
  'state.redis.heartbeatInterval',
  'state.redis.heartbeatTimeout',
  'state.redis.maxReconnectDelay',
  'state.refreshInterval',
  'state.trust.maxRemoteTtl',
  'health.timeout',
  'health.outlier.failurePercentageWindow',
  'health.outlier.baseEjectionTime',
  'health.outlier.maxEjectionTime',
  'health.outlier.backoffDecay',
  'health.breaker.resetTimeout',
  'health.breaker.window',
  'health.latency.decay',
  'timeouts.connect',
  'timeouts.request',
  'timeouts.clientHeaders',
  'timeouts.clientRequest',
  'timeouts.keepAlive',
  'retry.budget.ttl',
];

/** Keys where 0 means something (docs/configuration.md says what): still accepted. */
const ACCEPTED = [
  'state.redis.startTimeout',
  'health.probation.window',
  'health.rateLimit.min',
  'timeouts.firstByte',
  'timeouts.idle',
  'timeouts.drain',
  'timeouts.drainDelay',
  'retry.hedge.after',
];

function withValue(paths: readonly string[], value: unknown): Record<string, unknown> {
  const doc: Record<string, unknown> = { regions: [{ name: 'eu', endpoints: [{ url: 'http://127.0.0.1:9101' }] }] };
  for (const p of paths) {
    const parts = p.split('.');
    let at = doc;
    for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
    at[parts[parts.length - 1]] = value;
  }
  return doc;
}

function issues(doc: unknown): readonly string[] {
  try {
    resolveConfig(doc, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

t.test('a zero duration where 0 means nothing is refused, naming each key', async (t) => {
  for (const value of [0, '0', '0ms', '0s']) {
    const found = issues(withValue(REFUSED, value));
    for (const key of REFUSED) t.ok(found.includes(`${key}: must be greater than 0`), `${key}: ${JSON.stringify(value)} refused`);
    t.equal(found.length, REFUSED.length, 'one issue per key, all reported at once');
  }
});

t.test('docs/configuration.md types the refused keys "duration > 0" and the accepted ones "duration"', async (t) => {
  const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  const type = (key: string): string | undefined => doc.split('\n').find((l) => l.startsWith(`| \`${key}\` |`))?.split(' | ')[1];
  for (const key of REFUSED) t.equal(type(key), 'duration > 0', key);
  for (const key of ACCEPTED) t.equal(type(key), 'duration', key);
});

t.test('a zero timeouts.request is refused (it failed every request)', async (t) => {
  t.same(issues(withValue(['timeouts.request'], 0)), ['timeouts.request: must be greater than 0']);
});

t.test('limits.bodyBytes 0 is refused (it answered every body with a 413)', async (t) => {
  t.same(issues(withValue(['limits.bodyBytes'], 0)), ['limits.bodyBytes: must be at least 1']);
});

t.test('keys where 0 has a meaning accept it', async (t) => {
  t.same(issues(withValue(ACCEPTED, 0)), []);
});

t.test('timeouts.clientHeaders longer than timeouts.clientRequest is a config error', async (t) => {
  const doc = withValue([], 0);
  doc.timeouts = { clientHeaders: '70s', clientRequest: '60s' };
  t.same(issues(doc), ['timeouts.clientHeaders: must not be longer than timeouts.clientRequest']);
});

t.test('timeouts.firstByte 0 and timeouts.idle 0 mean no limit: requests are answered', async (t) => {
  const sim = await startSim(t, { name: 'eu', latencyMs: 20, ttftMs: 20, tokens: 4, tokenIntervalMs: 5 });
  const gw = await startGateway(t, [{ name: 'eu', url: sim.url }], { timeouts: { firstByte: 0, idle: 0 } });
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }),
  });
  t.equal(res.status, 200);
  t.match(await res.text(), /\[DONE\]/);
});
