/**
 * Failover inside the request, on real sockets with simulated regions: each fault costs the client
 * nothing where a retry is safe, and the health tracker moves traffic away at once.
 */
import t from 'tap';
import { request } from 'undici';
import type { RunningGateway } from '../src/create-gateway.js';
import { refusedUrl, startGateway, startSim, startUpstream } from './helpers/gateway.js';
import { until, within } from './helpers/wait.js';

const body = (model = 'm', stream = false): string => JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] });

async function chat(gw: RunningGateway, opts: { model?: string; stream?: boolean; headers?: Record<string, string> } = {}) {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: body(opts.model, opts.stream),
  });
  const text = await res.body.text();
  return { status: res.statusCode, region: res.headers['x-regiongate-region'], attempts: Number(res.headers['x-regiongate-attempts']), text };
}

const state = (gw: RunningGateway, region: string) => gw.health.state(gw.registry.region(region)!.endpoints[0]);

// Probes off unless a test wants them, so passive detection is what is under test.
const passive = { health: { probes: false } };

t.test('refused: zero client errors, ejected after one failure, then skipped', async (t) => {
  const b = await startSim(t, { name: 'b' });
  const gw = await startGateway(t, [{ name: 'a', url: await refusedUrl() }, { name: 'b', url: b.url }], passive);
  const results = [];
  for (let i = 0; i < 20; i++) results.push(await chat(gw));
  t.ok(results.every((r) => r.status === 200), 'every request answered');
  t.equal(state(gw, 'a'), 'ejected');
  const retried = results.filter((r) => r.attempts === 2).length;
  t.equal(retried, 1, 'exactly one request paid a retry before the ejection');
  const first = results.findIndex((r) => r.attempts === 2);
  t.ok(results.slice(first + 1).every((r) => r.region === 'b' && r.attempts === 1), 'later requests go straight to b');
});

t.test('reset before any response byte: retried elsewhere, ejected after two', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  await a.setFault({ mode: 'reset' });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], passive);
  const results = [];
  for (let i = 0; i < 30; i++) results.push(await chat(gw));
  t.ok(results.every((r) => r.status === 200), 'zero client errors');
  t.equal(state(gw, 'a'), 'ejected');
  t.equal(a.stats.requests, 2, 'a saw exactly two requests before ejection');
});

t.test('hang: moved on after the first-byte timeout, then ejected by its probes', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], {
    timeouts: { firstByte: '200ms' },
    health: { interval: '100ms', timeout: '100ms', unhealthyThreshold: 1 },
  });
  await a.setFault({ mode: 'hang' });
  const results = [];
  for (let i = 0; i < 10; i++) results.push(await chat(gw));
  t.ok(results.every((r) => r.status === 200), 'zero client errors');
  const hung = a.stats.byPath['/v1/chat/completions'] ?? 0;
  t.ok(hung <= 2, `a hung ${hung} request(s), then got no more`);
  await until('a to be ejected', () => state(gw, 'a') === 'ejected');
  t.pass('a is ejected (by its first-byte timeouts or its probes, whichever came first)');
});

t.test('5xx storm: retried on the survivor, ejected after 3 consecutive 5xx', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  await a.setFault({ mode: 'error', status: 503 });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], passive);
  const results = [];
  for (let i = 0; i < 30; i++) results.push(await chat(gw));
  t.ok(results.every((r) => r.status === 200), 'zero client errors');
  t.equal(a.stats.requests, 3, 'a got exactly 3 requests');
  t.equal(state(gw, 'a'), 'ejected');
});

t.test('429 with Retry-After on the gateway\'s key: skipped for that long after two, not ejected, then back', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  // 2 s: ten local requests fit well inside it even on a busy machine.
  await a.setFault({ mode: 'ratelimit', retryAfterSec: 2 });
  const gw = await startGateway(t, [{ name: 'a', url: a.url, headers: { authorization: 'Bearer gateway-key' } }, { name: 'b', url: b.url }], passive);
  const leaves: string[] = [];
  gw.health.onTransition((tr) => tr.endpointId === 'a-0' && tr.from === 'rate_limited' && leaves.push(tr.to));
  // Which endpoint a request tries first is a weighted draw: send until a has answered twice.
  for (let i = 0; i < 200 && a.stats.requests < 2; i++) t.equal((await chat(gw)).status, 200);
  t.equal(state(gw, 'a'), 'rate_limited', 'two 429s in a row: skipped');
  for (let i = 0; i < 10; i++) t.equal((await chat(gw)).status, 200);
  t.equal(a.stats.requests, 2, 'then nothing more went to a');
  t.equal(state(gw, 'a'), 'rate_limited');
  await a.setFault({ mode: 'none' });
  await until('a to leave rate_limited', () => leaves.length > 0);
  t.not(leaves[0], 'ejected', 'back after Retry-After, not ejected');
  t.not(state(gw, 'a'), 'ejected');
});

t.test('mid-stream reset: never retried, the client sees an abnormal end', async (t) => {
  const a = await startSim(t, { name: 'a', tokens: 8 });
  const b = await startSim(t, { name: 'b' });
  await a.setFault({ mode: 'reset', afterTokens: 2 });
  const gw = await startGateway(t, [{ name: 'a', url: a.url, priority: 0 }, { name: 'b', url: b.url, priority: 1 }], passive);
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body('m', true),
  });
  t.equal(res.headers['x-regiongate-region'], 'a');
  await t.rejects(res.body.text());
  t.equal(b.stats.requests, 0, 'no retry after response bytes reached the client');
});

t.test('recovery through probation: probes bring an ejected region back to its share', async (t) => {
  // Equal latency, large against scheduling noise, so the two regions should share traffic evenly.
  const a = await startSim(t, { name: 'a', latencyMs: 20 });
  const b = await startSim(t, { name: 'b', latencyMs: 20 });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], {
    health: { interval: '100ms', healthyThreshold: 1, unhealthyThreshold: 1, outlier: { baseEjectionTime: '200ms' }, probation: { window: '300ms' } },
  });
  const seen: string[] = [];
  gw.health.onTransition((tr) => tr.endpointId === 'a-0' && seen.push(`${tr.to}:${tr.cause}`));
  await a.setFault({ mode: 'down' });
  for (let i = 0; i < 5; i++) t.equal((await chat(gw)).status, 200);
  t.equal(state(gw, 'a'), 'ejected');
  await a.setFault({ mode: 'none' });
  await until('a to be healthy again', () => state(gw, 'a') === 'healthy');
  t.pass('healthy again');
  t.ok(seen.some((s) => s.startsWith('probation')), `went through probation: ${seen.join(', ')}`);
  a.resetStats();
  // One slow first answer on a loaded machine raises a's peak-EWMA for a while (each request takes
  // at least the 20 ms latency, so 500 of them span over 10 s of decay): bounded by count, not time.
  const served = (): number => a.stats.byPath['/v1/chat/completions'] ?? 0;
  let sent = 0;
  while ((sent < 40 || served() < 4) && sent < 500) {
    await chat(gw);
    sent++;
  }
  t.ok(served() >= 4, `a takes its share again (${served()} of ${sent} requests)`);
});

t.test('priority spill: the lower tier takes over when the preferred one dies', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const gw = await startGateway(t, [{ name: 'a', url: a.url, priority: 0 }, { name: 'b', url: b.url, priority: 1 }], passive);
  for (let i = 0; i < 10; i++) t.equal((await chat(gw)).region, 'a', 'preferred tier while healthy');
  await a.setFault({ mode: 'down' });
  const after = [];
  for (let i = 0; i < 10; i++) after.push(await chat(gw));
  t.ok(after.every((r) => r.status === 200 && r.region === 'b'), 'all traffic spills to the next tier');
});

t.test('model filter and /v1/models union over healthy regions', async (t) => {
  const a = await startSim(t, { name: 'a', models: ['gpt-4o-mini'] });
  const b = await startSim(t, { name: 'b', models: ['llama-3.1-70b'] });
  const gw = await startGateway(t, [
    { name: 'a', url: a.url, models: ['gpt-4o-mini'] },
    { name: 'b', url: b.url, models: ['llama-3.1-70b'] },
  ], passive);
  for (let i = 0; i < 5; i++) t.equal((await chat(gw, { model: 'llama-3.1-70b' })).region, 'b');
  for (let i = 0; i < 5; i++) t.equal((await chat(gw, { model: 'gpt-4o-mini' })).region, 'a');
  const models = (await (await request(`${gw.url}/v1/models`)).body.json()) as { data: { id: string }[] };
  t.same(models.data.map((m) => m.id), ['gpt-4o-mini', 'llama-3.1-70b']);
  await a.setFault({ mode: 'down' });
  await chat(gw, { model: 'gpt-4o-mini' });
  const after = (await (await request(`${gw.url}/v1/models`)).body.json()) as { data: { id: string }[] };
  t.same(after.data.map((m) => m.id), ['llama-3.1-70b'], 'a dead region\'s models leave the list');
  const only = await request(`${gw.url}/v1/models`, { headers: { 'x-regiongate-regions': 'b' } });
  t.same(((await only.body.json()) as { data: { id: string }[] }).data.map((m) => m.id), ['llama-3.1-70b'], 'the list honours x-regiongate-regions');
});

t.test('region restriction by header and by route rule', async (t) => {
  const a = await startSim(t, { name: 'eu-west-1' });
  const b = await startSim(t, { name: 'us-east-1' });
  const regions = [{ name: 'eu-west-1', url: a.url }, { name: 'us-east-1', url: b.url }];
  const gw = await startGateway(t, regions, passive);
  for (let i = 0; i < 5; i++) t.equal((await chat(gw, { headers: { 'x-regiongate-regions': 'eu-west-1' } })).region, 'eu-west-1');
  t.notOk(a.stats.lastRequest?.headers['x-regiongate-regions'], 'the restriction header is not forwarded');
  await a.setFault({ mode: 'down' });
  const denied = await chat(gw, { headers: { 'x-regiongate-regions': 'eu-west-1' } });
  t.not(denied.status, 200, 'no failover outside the allowed regions');

  const ruled = await startGateway(t, regions, { ...passive, routing: { rules: [{ model: 'eu-*', regions: ['us-east-1'] }] } });
  for (let i = 0; i < 5; i++) t.equal((await chat(ruled, { model: 'eu-model' })).region, 'us-east-1');
});

t.test('429 on the client\'s own key: retried elsewhere, but the endpoint stays in rotation for others', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  await a.setFault({ mode: 'ratelimit', retryAfterSec: 300 });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], passive);
  for (let i = 0; i < 40; i++) t.equal((await chat(gw, { headers: { authorization: 'Bearer client-key' } })).status, 200);
  t.ok(a.stats.requests > 2, `a still took its share of first attempts (${a.stats.requests})`);
  t.equal(state(gw, 'a'), 'healthy', 'not skipped for everyone on one client\'s 429');
});

t.test('panic: with every region ejected, requests still try them, spread by weight', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], {
    health: { probes: false, outlier: { baseEjectionTime: '30s', maxEjectionPercent: 100 } },
  });
  await a.setFault({ mode: 'down' });
  await b.setFault({ mode: 'down' });
  t.equal((await chat(gw)).status, 502);
  t.equal(state(gw, 'a'), 'ejected');
  t.equal(state(gw, 'b'), 'ejected');
  const ready = await request(`${gw.url}/readyz`);
  t.equal(ready.statusCode, 503, 'not ready with nothing routable');
  await ready.body.dump();
  await b.setFault({ mode: 'none' });
  const res = await chat(gw);
  t.equal(res.status, 200, 'panic routing reached the recovered region despite its ejection');
  t.equal(res.region, 'b');
});

t.test('retry budget exhausted: the failure is not retried', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  await a.setFault({ mode: 'reset' });
  const gw = await startGateway(t, [{ name: 'a', url: a.url, priority: 0 }, { name: 'b', url: b.url, priority: 1 }], {
    ...passive,
    retry: { budget: { percent: 0, minRetriesPerSec: 0 } },
  });
  const res = await chat(gw);
  t.equal(res.status, 503);
  t.match(res.text, /RG_ERR_RETRY_BUDGET/);
  t.equal(b.stats.requests, 0);
});

t.test('a refused connection is retried even with no budget left (it cost nothing)', async (t) => {
  const b = await startSim(t, { name: 'b' });
  const gw = await startGateway(t, [{ name: 'a', url: await refusedUrl(), priority: 0 }, { name: 'b', url: b.url, priority: 1 }], {
    ...passive,
    retry: { budget: { percent: 0, minRetriesPerSec: 0 } },
  });
  const res = await chat(gw);
  t.equal(res.status, 200);
  t.equal(res.attempts, 2);
});

t.test('hedging: the first answer wins and the loser is aborted', async (t) => {
  // The slow region never answers by itself: an answer at all means the hedge won; no clock involved.
  let loserClosed!: () => void;
  const closed = new Promise<void>((r) => (loserClosed = r));
  const slow = await startUpstream(t, (_req, res) => {
    res.on('close', () => loserClosed());
  });
  const fast = await startSim(t, { name: 'fast' });
  const gw = await startGateway(t, [{ name: 'slow', url: slow.url, priority: 0 }, { name: 'fast', url: fast.url, priority: 1 }], {
    ...passive,
    retry: { hedge: { after: '100ms' } },
  });
  const res = await within('the hedged answer', chat(gw));
  t.equal(res.status, 200);
  t.equal(res.region, 'fast', 'the hedge in the other region answered');
  t.equal(res.attempts, 2);
  await within('the losing attempt to be closed upstream', closed);
  t.pass('the losing attempt was aborted upstream');
  t.not(state(gw, 'slow'), 'ejected', 'a lost hedge does not count against the endpoint');
});
