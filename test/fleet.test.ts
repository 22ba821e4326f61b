/**
 * The fleet: health shared between gateways. One gateway's detection reaches the others in
 * milliseconds (in-process bus, and a real Redis spawned on an ephemeral port), and a Redis outage adds
 * no errors to client requests.
 */
import t from 'tap';
import { request } from 'undici';
import type { RunningGateway } from '../src/create-gateway.js';
import { MemoryBus } from '../src/state/memory-store.js';
import { refusedUrl, startGateway, startSim, type RegionSpec, type Teardown } from './helpers/gateway.js';
import { REDIS_SKIP, startRedisServer } from './helpers/redis-server.js';
import { nextCalls, until } from './helpers/wait.js';

async function chat(gw: RunningGateway) {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":"m","messages":[]}',
  });
  await res.body.dump();
  return { status: res.statusCode, region: res.headers['x-regiongate-region'], attempts: Number(res.headers['x-regiongate-attempts']) };
}

const stateOf = (gw: RunningGateway, id: string) => gw.health.state(gw.registry.endpoint(id)!);

async function twoRegions(t: Teardown): Promise<RegionSpec[]> {
  const b = await startSim(t, { name: 'b' });
  return [
    { name: 'a', url: await refusedUrl() },
    { name: 'b', url: b.url },
  ];
}

const base = { health: { probes: false } };

/** The next `n` snapshot loads of `gw`'s store (each refresh reapplies the fleet's state). */
const refreshes = (gw: RunningGateway, n: number): Promise<void> => nextCalls(`${gw.gatewayId}'s snapshot refreshes`, (fn) => gw.store.onSnapshot(fn), n);

t.test('in-process fleet: one gateway\'s ejection stops the others at once', async (t) => {
  const bus = new MemoryBus();
  const regions = await twoRegions(t);
  const g1 = await startGateway(t, regions, { ...base, gatewayId: 'g1' }, { bus });
  const g2 = await startGateway(t, regions, { ...base, gatewayId: 'g2' }, { bus });
  // g1 meets the dead region (retrying on b, so its client sees no error).
  for (let i = 0; i < 6 && stateOf(g1, 'a-0') !== 'ejected'; i++) t.equal((await chat(g1)).status, 200);
  t.equal(stateOf(g1, 'a-0'), 'ejected');
  t.equal(stateOf(g2, 'a-0'), 'ejected', 'g2 applied g1\'s ejection');
  const results = [];
  for (let i = 0; i < 20; i++) results.push(await chat(g2));
  t.ok(results.every((r) => r.status === 200 && r.region === 'b' && r.attempts === 1), 'g2 never paid a failed attempt');
});

t.test('redis fleet: propagation, a newcomer, drills, and Redis dying under load', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedisServer(t);
  const regions = await twoRegions(t);
  const cfg = (id: string) => ({ ...base, gatewayId: id, state: { store: 'redis' as const, redis: { url: redis.url } } });
  const g1 = await startGateway(t, regions, { ...cfg("g1"), admin: { host: "127.0.0.1", port: 0 } });
  const g2 = await startGateway(t, regions, cfg('g2'));
  await until('both stores connected', () => g1.store.status().connected && g2.store.status().connected);

  // The order of the two ejections, as events (not timestamps): g1 detects, then g2 applies.
  const order: string[] = [];
  for (const g of [g1, g2]) g.health.onTransition((tr) => tr.endpointId === 'a-0' && tr.to === 'ejected' && order.push(g.gatewayId));
  for (let i = 0; i < 6 && stateOf(g1, 'a-0') !== 'ejected'; i++) t.equal((await chat(g1)).status, 200);
  await until('g2 applies the ejection', () => stateOf(g2, 'a-0') === 'ejected');
  t.same(order, ['g1', 'g2'], 'g1 detected it, then g2 applied it');
  const results = [];
  for (let i = 0; i < 10; i++) results.push(await chat(g2));
  t.ok(results.every((r) => r.region === 'b' && r.attempts === 1), 'g2 sends nothing to the dead region');

  // A newcomer starts from the fleet's snapshot.
  const g3 = await startGateway(t, regions, cfg('g3'));
  await until('g3 loads the snapshot', () => stateOf(g3, 'a-0') === 'ejected');
  t.pass('a newcomer joining during an ejection starts with it');

  // A drill on g1 takes region b out on every gateway for a second (operator intent: drained, panic or not).
  // Drained on g2, then back: seen as transitions (listened to before the drill starts), so a busy
  // machine that is slow to deliver the drill cannot make the test miss it.
  const drilled: string[] = [];
  g2.health.onTransition((tr) => tr.endpointId === 'b-0' && drilled.push(tr.to));
  // Region a is ejected, so a drill of b would leave every model (the endpoints serve "*") with no routable endpoint: refused unless forced.
  const refused = await request(`${g1.admin!.url}/admin/regions/b/drill?seconds=1`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.equal(refused.statusCode, 409);
  t.match(await refused.body.json(), { error: { code: 'RG_ADMIN_STRANDS_MODEL', models: ['*'] } });
  const drill = await request(`${g1.admin!.url}/admin/regions/b/drill?seconds=1&force=true`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.same(await drill.body.json(), { action: 'drill', endpoints: ['b-0'] });
  await until('the drill to reach g2 and end there', () => drilled.includes('drained') && stateOf(g2, 'b-0') !== 'drained');
  t.pass('a drill on one gateway takes the region out on the others, for its duration');

  // Redis dies: the data plane carries on from local state, the store reports degraded.
  await redis.kill();
  const during = [];
  for (let i = 0; i < 10; i++) during.push(await chat(g2));
  t.ok(during.every((r) => r.status === 200), 'no client errors caused by Redis');
  await until('store degraded', () => g2.store.status().degraded);
  const ready = await request(`${g2.url}/readyz`);
  t.equal(ready.statusCode, 200, '/readyz does not depend on Redis');
  await ready.body.dump();
});

t.test('operator drains and drills are the fleet\'s: undrain anywhere, drills hold everywhere', async (t) => {
  const bus = new MemoryBus();
  const sims = await Promise.all(['a', 'b', 'c', 'd'].map((name) => startSim(t, { name })));
  const regions = sims.map((s) => ({ name: s.name, url: s.url }));
  const cfg = (id: string) => ({ ...base, gatewayId: id, state: { store: 'memory' as const, refreshInterval: 100 }, admin: { host: '127.0.0.1', port: 0 } });
  const g1 = await startGateway(t, regions, cfg('g1'), { bus });
  const g2 = await startGateway(t, regions, cfg('g2'), { bus });
  const g3 = await startGateway(t, regions, cfg('g3'), { bus });
  const post = async (gw: RunningGateway, path: string) => (await request(`${gw.admin!.url}${path}`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } })).body.dump();

  await post(g1, '/admin/endpoints/a-0/drain');
  await until('the drain reaches g2 and g3', () => stateOf(g2, 'a-0') === 'drained' && stateOf(g3, 'a-0') === 'drained');
  await post(g2, '/admin/endpoints/a-0/undrain');
  await until('an undrain on g2 lifts g1\'s drain everywhere', () => [g1, g2, g3].every((g) => stateOf(g, 'a-0') !== 'drained'));
  await Promise.all([g1, g2, g3].map((g) => refreshes(g, 3)));
  t.ok([g1, g2, g3].every((g) => stateOf(g, 'a-0') !== 'drained'), 'and it stays lifted after three snapshot refreshes on each');

  // A drill of three of four regions: more than one gateway's ejection quota, yet authoritative.
  // A minute long, so it outlasts the refreshes below however busy the machine.
  for (const r of ['b', 'c', 'd']) await post(g1, `/admin/regions/${r}/drill?seconds=60`);
  await until('the drill reaches g2', () => ['b-0', 'c-0', 'd-0'].every((id) => stateOf(g2, id) === 'drained'));
  await refreshes(g2, 5);
  t.ok(['b-0', 'c-0', 'd-0'].every((id) => stateOf(g2, id) === 'drained'), 'the drill still holds on g2 after five snapshot refreshes');
  for (let i = 0; i < 5; i++) t.equal((await chat(g2)).region, 'a', 'traffic moved to the one region left');
});

t.test('two gateways that both detect a failure keep each other ejected', async (t) => {
  const bus = new MemoryBus();
  const regions = await twoRegions(t);
  const cfg = (id: string) => ({ ...base, gatewayId: id, state: { store: 'memory' as const, refreshInterval: 100 } });
  const g1 = await startGateway(t, regions, cfg('g1'), { bus });
  const g2 = await startGateway(t, regions, cfg('g2'), { bus });
  const ejectedUntil = Date.now() + 60_000;
  g1.health.eject(g1.registry.endpoint('a-0')!, 'consecutive_5xx', ejectedUntil);
  g2.health.eject(g2.registry.endpoint('a-0')!, 'consecutive_5xx', ejectedUntil);
  await Promise.all([refreshes(g1, 5), refreshes(g2, 5)]);
  t.equal(stateOf(g1, 'a-0'), 'ejected', 'g1 still ejects it');
  t.equal(stateOf(g2, 'a-0'), 'ejected', 'g2 still ejects it');
  const snap = g1.health.snapshot().find((s) => s.id === 'a-0');
  t.equal(snap?.cause, 'consecutive_5xx', 'a peer\'s report did not relabel our own ejection');
});

t.test('an operator uneject through one gateway ends every gateway\'s ejection, and it stays ended', async (t) => {
  const bus = new MemoryBus();
  const regions = await twoRegions(t);
  const cfg = (id: string) => ({ ...base, gatewayId: id, state: { store: 'memory' as const, refreshInterval: 100 }, admin: { host: '127.0.0.1', port: 0 } });
  const g1 = await startGateway(t, regions, cfg('g1'), { bus });
  const g2 = await startGateway(t, regions, cfg('g2'), { bus });
  const ejectedUntil = Date.now() + 60_000;
  // Both saw the endpoint fail: each asserts its own ejection to the other.
  g1.health.eject(g1.registry.endpoint('a-0')!, 'consecutive_5xx', ejectedUntil);
  g2.health.eject(g2.registry.endpoint('a-0')!, 'consecutive_5xx', ejectedUntil);
  await Promise.all([refreshes(g1, 2), refreshes(g2, 2)]);
  const res = await request(`${g1.admin!.url}/admin/endpoints/a-0/uneject`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.equal(res.statusCode, 200);
  await res.body.dump();
  // Before, g2's own ejection stayed, and its report put the endpoint back out on g1 at the next refresh.
  // Back in rotation (probation, or healthy once its 10 s window passed on a very slow machine).
  for (const g of [g1, g2]) t.not(stateOf(g, 'a-0'), 'ejected', `${g.gatewayId}: back in rotation at once`);
  await Promise.all([refreshes(g1, 5), refreshes(g2, 5)]);
  for (const g of [g1, g2]) t.not(stateOf(g, 'a-0'), 'ejected', `${g.gatewayId}: still in after five snapshot refreshes`);
  const snap = g2.health.snapshot().find((s) => s.id === 'a-0');
  t.equal(snap?.cause, 'operator', 'g2 says an operator put it back');
  // A failure after the uneject is new evidence: ejected again, and the peer believes it.
  g2.health.eject(g2.registry.endpoint('a-0')!, 'consecutive_5xx', Date.now() + 60_000);
  await until('g1 applies g2\'s new ejection', () => stateOf(g1, 'a-0') === 'ejected');
  t.pass('a later ejection is reported and applied as before');
});
