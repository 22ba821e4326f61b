/**
 * Operator intent wins over panic, end to end through a real gateway and simulated regions: a region
 * drained (or in a drill) through the admin API takes no new request, even when nothing else is
 * routable, and a request that only it could serve gets a clear 503 naming the drain.
 */
import t from 'tap';
import { request } from 'undici';
import type { RunningGateway } from '../src/create-gateway.js';
import { METRIC } from '../src/telemetry/names.js';
import { forwardedCount, refusedUrl, startGateway, startSim } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

async function chat(gw: RunningGateway, opts: { model?: string; regions?: string } = {}) {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(opts.regions && { 'x-regiongate-regions': opts.regions }) },
    body: JSON.stringify({ model: opts.model ?? 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, code: res.headers['x-regiongate-error'], region: res.headers['x-regiongate-region'], text };
}

async function admin(gw: RunningGateway, path: string): Promise<void> {
  const res = await request(`${gw.admin!.url}${path}`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode}`);
}

t.test('a drained region gets no request, pinned, sole server of a model, or in panic: RG_ERR_ENDPOINTS_DRAINED', async (t) => {
  const us = await startSim(t, { name: 'us-east-1' });
  const eu = await startSim(t, { name: 'eu-west-1' });
  const gw = await startGateway(
    t,
    [
      { name: 'us-east-1', url: us.url, models: ['m', 'us-only'] },
      { name: 'eu-west-1', url: eu.url, models: ['m'] },
    ],
    { health: { probes: false }, admin: { host: '127.0.0.1', port: 0 } },
  );
  await admin(gw, '/admin/regions/us-east-1/drain?force=true');

  const pinned = await chat(gw, { regions: 'us-east-1' });
  t.equal(pinned.status, 503, 'pinned to the drained region');
  t.equal(pinned.code, 'RG_ERR_ENDPOINTS_DRAINED');
  t.match(JSON.parse(pinned.text), { error: { code: 'RG_ERR_ENDPOINTS_DRAINED', message: /drained by an operator \(region us-east-1\)/ } });
  const only = await chat(gw, { model: 'us-only' });
  t.equal(only.code, 'RG_ERR_ENDPOINTS_DRAINED', 'a model only the drained region serves');

  // The other region goes down: nothing is routable, and panic still leaves the drained region alone.
  await eu.setFault({ mode: 'down' });
  for (let i = 0; i < 10; i++) t.not((await chat(gw)).status, 200, 'nothing healthy to answer');
  t.equal(gw.health.state(gw.registry.region('eu-west-1')!.endpoints[0]), 'ejected');
  for (let i = 0; i < 10; i++) await chat(gw);
  t.equal(forwardedCount(us), 0, 'the drained region never saw a request');

  await admin(gw, '/admin/regions/us-east-1/undrain');
  const back = await chat(gw, { regions: 'us-east-1' });
  t.equal(back.status, 200, 'undrained: served again');
  t.equal(back.region, 'us-east-1');

  // A fire drill is operator intent too.
  await admin(gw, '/admin/regions/us-east-1/drill?seconds=60&force=true');
  const drilled = await chat(gw, { regions: 'us-east-1' });
  t.equal(drilled.code, 'RG_ERR_ENDPOINTS_DRAINED', 'in a drill: the same clear error');
  t.equal(forwardedCount(us), 1, 'and no request reached it');
});

t.test('outlier detection leaves at least half the endpoints in, and the metric counts what it withheld', async (t) => {
  const gw = await startGateway(t, [{ name: 'a', url: await refusedUrl() }, { name: 'b', url: await refusedUrl() }], { health: { probes: false } });
  for (let i = 0; i < 3; i++) await chat(gw);
  const states = ['a', 'b'].map((r) => gw.health.state(gw.registry.region(r)!.endpoints[0]));
  t.same(states.sort(), ['ejected', 'healthy'], 'one of two ejected (50 %)');
  t.ok(gw.health.withheldEjections >= 1);
  t.match(gw.metrics.registry.render(), new RegExp(`^${METRIC.outlierEjectionsWithheld} [1-9]`, 'm'));
});

t.test('GET /v1/models in panic lists what panic would try, never a drained region\'s models', async (t) => {
  const us = await startSim(t, { name: 'us-east-1' });
  const eu = await startSim(t, { name: 'eu-west-1' });
  const gw = await startGateway(
    t,
    [
      { name: 'us-east-1', url: us.url, models: ['us-only'] },
      { name: 'eu-west-1', url: eu.url, models: ['eu-only'] },
    ],
    { health: { probes: false }, admin: { host: '127.0.0.1', port: 0 } },
  );
  await admin(gw, '/admin/regions/us-east-1/drain?force=true');
  gw.health.eject(gw.registry.region('eu-west-1')!.endpoints[0], 'operator', Date.now() + 60_000);
  const res = await request(`${gw.url}/v1/models`);
  const ids = ((await res.body.json()) as { data: { id: string }[] }).data.map((m) => m.id);
  t.same(ids, ['eu-only'], 'nothing routable: the ejected region\'s models, not the drained one\'s');
});

t.test('undrill ends a drill and leaves an operator drain; undrain ends both', async (t) => {
  const us = await startSim(t, { name: 'us-east-1' });
  const eu = await startSim(t, { name: 'eu-west-1' });
  const gw = await startGateway(
    t,
    [
      { name: 'us-east-1', url: us.url, models: ['m'] },
      { name: 'eu-west-1', url: eu.url, models: ['m'] },
    ],
    { health: { probes: false }, admin: { host: '127.0.0.1', port: 0 } },
  );
  const us0 = gw.registry.region('us-east-1')!.endpoints[0]!;
  const eu0 = gw.registry.region('eu-west-1')!.endpoints[0]!;
  const drillOf = (id: string) => gw.fleet.view.states().get(id)?.drillUntil;
  await admin(gw, '/admin/regions/us-east-1/drill?seconds=600');
  await admin(gw, '/admin/regions/eu-west-1/drain?force=true');
  await admin(gw, '/admin/regions/eu-west-1/drill?seconds=600&force=true');
  await admin(gw, '/admin/regions/us-east-1/undrill');
  t.ok((drillOf(us0.id) ?? Infinity) <= Date.now() + 1000, 'the drill of us-east-1 ends within a second, not in 600 s');
  await admin(gw, '/admin/regions/eu-west-1/undrill');
  await waitUntil('the drill of eu-west-1 to end', () => gw.fleet.view.states().get(eu0.id)?.drillUntil === undefined);
  t.equal(gw.fleet.view.states().get(eu0.id)?.drained, true, 'the operator drain of eu-west-1 stays');
  t.equal(gw.health.state(eu0), 'drained');
  await admin(gw, '/admin/regions/eu-west-1/undrain');
  t.not(gw.fleet.view.states().get(eu0.id)?.drained, true, 'undrain lifts the drain');
});

t.test('a drill holds steady through snapshot loads whose expiry is a few ms off; an undrill still lifts it', async (t) => {
  const sim = await startSim(t, { name: 'a' });
  const gw = await startGateway(t, [{ name: 'a', url: sim.url }], { health: { probes: false } });
  const transitions: string[] = [];
  gw.health.onTransition((tr) => transitions.push(`${tr.from}>${tr.to}:${tr.cause}`));
  const now = Date.now();
  const drill = { v: 2, type: 'drill', gatewayId: 'other', endpointId: 'a-0', cause: 'drill-a-1', at: now, seq: 1 } as const;
  gw.fleet.view.apply({ ...drill, expiresAt: now + 30_000 });
  t.match(gw.health.snapshot()[0], { state: 'drained', cause: 'drill' }, 'applied from the intent with cause drill');
  // A snapshot load re-derives the expiry from the store's remaining lifetime: 3 ms earlier is not a lift.
  gw.fleet.view.applySnapshot([{ ...drill, expiresAt: now + 29_997 }], Date.now() + 1);
  t.same(transitions, ['healthy>drained:drill'], 'no drained → healthy → drained flap');
  // An undrill (the drill record replaced by one ending in 500 ms) is.
  gw.fleet.view.apply({ ...drill, seq: 2, at: Date.now(), expiresAt: Date.now() + 500 });
  t.same(transitions.slice(1, 3), ['drained>healthy:remote', 'healthy>drained:drill'], 'lifted, then held to the new end');
  await waitUntil('the drill to end', () => gw.health.snapshot()[0]?.state === 'healthy');
});
