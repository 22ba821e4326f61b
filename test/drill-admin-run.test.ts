/**
 * Drills started through the admin API (`POST /admin/drills/run`, what the dashboard's form sends): two
 * in-process gateways on one memory bus over two simulated regions. The gateway runs the same engine as
 * `regiongate drill` in the background and answers with the drill's id; the record (`running`, then its
 * verdict with the report, origin `admin`) is listed by `GET /admin/drills` on every gateway. One drill
 * per region per gateway (a second is 409), bad input is a 400 naming the field, and closing the gateway
 * aborts its running drill, which restores the region fleet-wide and is kept as `aborted`. Every gateway
 * shows the drilled endpoints as drained with cause `drill` (the intent travels in the fleet event).
 */
import t from 'tap';
import { request } from 'undici';
import type { RunningGateway } from '../src/create-gateway.js';
import { MemoryBus } from '../src/state/memory-store.js';
import { startGateway, startSim, type Teardown } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

interface Listed {
  drills: { id: string; status: string; origin?: string; mode?: string; report?: { verdict: string; origin: string; fault?: { kind: string } } }[];
}

async function run(gw: RunningGateway, body: unknown, method = 'POST'): Promise<{ status: number; body: { started?: string; error?: { code: string; message: string } } }> {
  const res = await request(`${gw.admin!.url}/admin/drills/run`, {
    method: method as 'POST',
    headers: { 'x-regiongate-admin': '1', 'content-type': 'application/json' },
    ...(method === 'POST' && { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as { started?: string; error?: { code: string; message: string } } };
}

async function listed(gw: RunningGateway): Promise<Listed> {
  return (await (await request(`${gw.admin!.url}/admin/drills`)).body.json()) as Listed;
}

interface State {
  faults: unknown[];
  endpoints: { region: string; state: string; cause: string | null }[];
}

async function state(gw: RunningGateway): Promise<State> {
  return (await (await request(`${gw.admin!.url}/admin/state`)).body.json()) as State;
}

async function fleet(t: Teardown, more: Record<string, unknown> = {}) {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const bus = new MemoryBus();
  const regions = [
    { name: 'a', url: a.url, models: ['m'] },
    { name: 'b', url: b.url, models: ['m'] },
  ];
  const base = { health: { probes: false }, admin: { host: '127.0.0.1', port: 0 }, state: { summaryInterval: '200ms' }, ...more };
  const g1 = await startGateway(t, regions, { ...base, gatewayId: 'g1' }, { bus });
  const g2 = await startGateway(t, regions, { ...base, gatewayId: 'g2' }, { bus });
  return { g1, g2 };
}

t.test('a drill started through the admin API runs here and is kept, with its report, on every gateway', async (t) => {
  const { g1, g2 } = await fleet(t);
  const started = await run(g1, { region: 'a', duration: '2s' });
  t.equal(started.status, 200);
  const id = started.body.started!;
  t.match(id, /^drill-a-\d+$/);
  const again = await run(g1, { region: 'a', duration: '2s' });
  t.equal(again.status, 409, 'one running drill per region per gateway');
  t.equal(again.body.error?.code, 'RG_ADMIN_DRILL_RUNNING');
  t.match((await listed(g2)).drills, [{ id, status: 'running', origin: 'admin', mode: 'drain' }], 'the running record is in the store');
  for (const gw of [g1, g2])
    t.match((await state(gw)).endpoints.find((e) => e.region === 'a'), { state: 'drained', cause: 'drill' }, `out on ${gw.gatewayId} too, and why: a drill`);
  let l: Listed = { drills: [] };
  await waitUntil('the drill to end', async () => (l = await listed(g2)).drills.some((d) => d.id === id && d.status !== 'running'), 30_000);
  t.match(l.drills.find((d) => d.id === id), { status: 'pass', origin: 'admin', report: { verdict: 'pass', origin: 'admin' } });
  await waitUntil('a second drill of the region to be accepted once the first has ended', async () => (await run(g1, { region: 'a', duration: '1s' })).status === 200);
});

t.test('a fault drill started through the admin API injects the fault and keeps its record', async (t) => {
  const { g1, g2 } = await fleet(t);
  const started = await run(g1, { region: 'a', duration: '1s', mode: 'fault', fault: 'slow', percent: 10, delay: '50ms' });
  t.equal(started.status, 200);
  t.match((await state(g2)).faults, [{ endpointId: 'a-0', spec: { kind: 'slow', percent: 10, delayMs: 50 } }], 'the fault is active fleet-wide');
  let l: Listed = { drills: [] };
  await waitUntil('the drill to end', async () => (l = await listed(g1)).drills.some((d) => d.id === started.body.started && d.status !== 'running'), 30_000);
  t.match(l.drills[0], { mode: 'fault', origin: 'admin', report: { fault: { kind: 'slow' } } });
});

t.test('a fault drill the retry budget cannot absorb ends not passing, and its report names the cause', async (t) => {
  // No retry budget at all: every faulted attempt that cannot go elsewhere reaches the client.
  const { g1 } = await fleet(t, { retry: { budget: { percent: 0, minRetriesPerSec: 0 } } });
  const started = await run(g1, { region: 'a', duration: '20s', mode: 'fault', fault: 'error', percent: 100 });
  t.equal(started.status, 200);
  // Bounded load through g1 until the drill has a verdict (it aborts once the errors are seen).
  let l: Listed = { drills: [] };
  const ended = () => l.drills.some((d) => d.id === started.body.started && d.status !== 'running');
  for (let i = 0; i < 5000 && !ended(); i++) {
    const res = await request(`${g1.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' });
    await res.body.dump();
    if (i % 20 === 19) l = await listed(g1);
  }
  await waitUntil('the drill to end', async () => ended() || ((l = await listed(g1)), ended()), 30_000);
  const report = l.drills.find((d) => d.id === started.body.started)?.report as unknown as { verdict: string; reason: string; clientErrors: number; clientErrorCauses: Record<string, number> };
  t.not(report.verdict, 'pass');
  t.ok(report.clientErrors > 0);
  t.ok((report.clientErrorCauses.RG_ERR_RETRY_BUDGET ?? 0) > 0, `the budget named as the cause: ${JSON.stringify(report.clientErrorCauses)}`);
  t.match(report.reason, /RG_ERR_RETRY_BUDGET \d+/, 'and in the reason');
});

t.test('bad drill requests are refused, naming the problem', async (t) => {
  const { g1 } = await fleet(t);
  const bad = await run(g1, { region: 'a', duration: '0s', mode: 'fault', fault: 'melt', extra: 1 });
  t.equal(bad.status, 400);
  t.equal(bad.body.error?.code, 'RG_ADMIN_BAD_REQUEST');
  t.match(bad.body.error?.message, /extra: unknown field/);
  t.match(bad.body.error?.message, /duration: must be from 1s to 24h/);
  t.match(bad.body.error?.message, /fault: must be one of error, hang, slow/);
  t.match((await run(g1, { region: 'a', duration: '1s', percent: 5 })).body.error?.message, /need mode "fault"/);
  t.equal((await run(g1, { region: 'zz', duration: '1s' })).status, 404);
  t.equal((await run(g1, undefined, 'GET')).status, 405);
  t.same((await listed(g1)).drills, [], 'no record for a drill that did not start');
});

t.test('a drill that would strand a model is refused (409) unless forced', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const g = await startGateway(t, [{ name: 'a', url: a.url, models: ['m'] }], {
    health: { probes: false },
    admin: { host: '127.0.0.1', port: 0 },
    state: { summaryInterval: '200ms' },
  });
  const refused = await run(g, { region: 'a', duration: '1s' });
  t.equal(refused.status, 409);
  t.equal(refused.body.error?.code, 'RG_ADMIN_STRANDS_MODEL');
  t.match(refused.body.error?.message, /"m"/);
  t.equal((await run(g, { region: 'a', duration: '1s', force: true })).status, 200, 'forced');
});

t.test('closing the gateway aborts its running drill: restored fleet-wide and kept as aborted', async (t) => {
  const { g1, g2 } = await fleet(t);
  const started = await run(g1, { region: 'a', duration: '1h' });
  t.equal(started.status, 200);
  t.ok((await state(g2)).endpoints.some((e) => e.region === 'a' && e.state === 'drained'));
  await g1.close(0, 0);
  t.match((await listed(g2)).drills, [{ id: started.body.started, status: 'aborted', report: { verdict: 'aborted', restored: true } }]);
  await waitUntil('region a back in rotation on g2', async () => (await state(g2)).endpoints.every((e) => e.state !== 'drained'));
  t.pass('restored');
});
