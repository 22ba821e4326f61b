/**
 * Fault drills on the data path: a fault intent made through one gateway's admin API is injected by
 * every gateway of the fleet (two in-process gateways on one memory bus) into its attempts toward the
 * region, before anything is sent. `error` is retried elsewhere and never blamed on the endpoint,
 * `hang` ends at the first-byte timeout, `slow` sends late; each is labelled in the access log, the
 * `regiongate_faults_injected_total` counter and the error code. Bad input is a 400; `unfault` and the
 * intent's expiry end it. The share of attempts faulted follows `percent` with the injected random.
 */
import t from 'tap';
import { request } from 'undici';
import type { RunningGateway } from '../src/create-gateway.js';
import { FaultInjector } from '../src/fault/fault-injector.js';
import { decodeFault, encodeFault, parseFaultSpec } from '../src/fault/fault-spec.js';
import { MemoryBus } from '../src/state/memory-store.js';
import type { RemoteRecord } from '../src/state/trust-rules.js';
import { METRIC } from '../src/telemetry/names.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { seededRandom } from '../src/util/random.js';
import { forwardedCount, startGateway, startSim, type Teardown } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

async function chat(gw: RunningGateway, regions?: string) {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(regions && { 'x-regiongate-regions': regions }) },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, code: res.headers['x-regiongate-error'], region: res.headers['x-regiongate-region'], text };
}

async function admin(gw: RunningGateway, path: string): Promise<{ status: number; body: { error?: { message?: string } } }> {
  const res = await request(`${gw.admin!.url}${path}`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  return { status: res.statusCode, body: (await res.body.json()) as { error?: { message?: string } } };
}

interface AccessLine {
  event: string;
  status: number;
  region: string | null;
  faults: string[];
  retryReasons: string[];
}

/** Two gateways on one memory bus over regions a and b, access lines of both collected. */
async function fleet(t: Teardown, extra: Record<string, unknown> = {}) {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const bus = new MemoryBus();
  const lines: AccessLine[] = [];
  const logWrite = (l: string): void => {
    const o = JSON.parse(l) as AccessLine;
    if (o.event === 'http.access') lines.push(o);
  };
  const regions = [
    { name: 'a', url: a.url, models: ['m'] },
    { name: 'b', url: b.url, models: ['m'] },
  ];
  const base = { health: { probes: false }, admin: { host: '127.0.0.1', port: 0 }, log: { level: 'warn' as const, access: true }, ...extra };
  const g1 = await startGateway(t, regions, { ...base, gatewayId: 'g1' }, { bus, logWrite });
  const g2 = await startGateway(t, regions, { ...base, gatewayId: 'g2' }, { bus, logWrite });
  return { a, b, g1, g2, lines };
}

t.test('an error fault made on one gateway is injected by both, retried elsewhere, labelled, never blamed', async (t) => {
  const { a, g1, g2, lines } = await fleet(t);
  const made = await admin(g1, '/admin/regions/a/fault?fault=error&percent=100&seconds=60&reason=drill-a-1');
  t.equal(made.status, 200);
  const a0 = g2.registry.region('a')!.endpoints[0];
  for (const gw of [g1, g2]) {
    for (let i = 0; i < 10; i++) {
      const r = await chat(gw);
      t.equal(r.status, 200, 'the client sees no error');
      t.equal(r.region, 'b', 'answered by the failover region');
    }
    const pinned = await chat(gw, 'a');
    t.equal(pinned.status, 503, 'a request that only region a may serve gets the injected error');
    t.equal(pinned.code, 'RG_ERR_FAULT_INJECTED');
    t.match(JSON.parse(pinned.text), { error: { message: /fault injected by drill "drill-a-1" \(error 100 %\)/ } });
    t.equal(gw.health.state(a0), 'healthy', 'the endpoint is not blamed for an injected fault');
    t.match(gw.metrics.registry.render(), new RegExp(`^${METRIC.faultsInjected}\\{region="a",fault="error"\\} [1-9]`, 'm'));
  }
  t.equal(forwardedCount(a), 0, 'nothing was sent to region a');
  const faulted = lines.filter((l) => l.faults.length > 0);
  t.ok(faulted.length >= 2, 'access lines name the injected fault');
  t.ok(faulted.every((l) => l.faults.every((f) => f === 'error')));
  t.ok(faulted.some((l) => l.status === 200 && l.retryReasons.includes('RG_ERR_FAULT_INJECTED')), 'the retry reason says it was a drill');
  const state = (await (await request(`${g2.admin!.url}/admin/state`)).body.json()) as { faults: { endpointId: string; reason: string }[]; fleet: { intents: { kind: string }[] } };
  t.match(state.faults, [{ endpointId: 'a-0', reason: 'drill-a-1' }], 'the other gateway shows the fault in force');
  t.ok(state.fleet.intents.some((i) => i.kind === 'fault'));

  t.equal((await admin(g2, '/admin/regions/a/unfault')).status, 200, 'unfault through the other gateway');
  for (const gw of [g1, g2]) await waitUntil('the fault to end', async () => (await chat(gw, 'a')).status === 200, 10_000);
  t.ok(forwardedCount(a) >= 2, 'region a serves again');
});

t.test('a hang fault ends at the first-byte timeout; a slow fault sends late; expiry ends a fault', async (t) => {
  const { a, g1, g2, lines } = await fleet(t, { timeouts: { firstByte: '300ms' } });
  t.equal((await admin(g1, '/admin/regions/a/fault?fault=hang&percent=100&seconds=60')).status, 200);
  const pinned = await chat(g2, 'a');
  t.equal(pinned.status, 504, 'bounded by the first-byte timeout');
  t.equal(pinned.code, 'RG_ERR_FAULT_HANG');
  const free = await chat(g2);
  t.equal(free.status, 200, 'an unpinned request fails over');
  t.equal(free.region, 'b');
  t.equal(forwardedCount(a), 0);

  t.equal((await admin(g1, '/admin/regions/a/fault?fault=slow&percent=100&delay=50ms&seconds=1')).status, 200, 'a new fault replaces the old');
  const slow = await chat(g2, 'a');
  t.equal(slow.status, 200, 'a slow attempt is still sent');
  t.equal(slow.region, 'a');
  t.same(lines.at(-1)?.faults, ['slow']);
  // The intent lasts 1 s: after it, nothing is injected any more.
  await waitUntil('the fault to expire', async () => {
    const before = lines.length;
    await chat(g2, 'a');
    return lines.length > before && lines.at(-1)!.faults.length === 0;
  }, 10_000);
  t.pass('the fault ended at its expiry');
});

t.test('a hung attempt is hedged like a real one', async (t) => {
  const { g1, lines } = await fleet(t, { timeouts: { firstByte: '20s' }, retry: { hedge: { after: '50ms' } } });
  t.equal((await admin(g1, '/admin/regions/a/fault?fault=hang&percent=100&seconds=60')).status, 200);
  for (let i = 0; i < 10; i++) {
    const r = await chat(g1);
    t.equal(r.status, 200);
    t.equal(r.region, 'b', 'answered by the hedge (or directly) in region b');
  }
  const hung = lines.filter((l) => l.faults.includes('hang'));
  t.ok(hung.length > 0, 'some first attempts went to region a and hung');
  t.ok(hung.every((l) => l.retryReasons.includes('hedge')), 'each was hedged, not left to its 20 s timeout');
});

t.test('bad fault input is a 400 naming the field', async (t) => {
  const { g1 } = await fleet(t);
  for (const [q, msg] of [
    ['fault=boom&percent=5', /fault must be one of error, hang, slow/],
    ['fault=error&percent=101', /percent must be a number from 0 to 100/],
    ['fault=error', /percent must be/],
    ['percent=5', /fault must be one of/],
    ['fault=slow&percent=5&delay=soon', /delay must be a duration/],
    ['fault=error&percent=5&delay=1s', /delay applies to the slow fault only/],
  ] as const) {
    const r = await admin(g1, `/admin/regions/a/fault?${q}`);
    t.equal(r.status, 400, q);
    t.match(r.body.error?.message, msg);
  }
  t.equal((await admin(g1, '/admin/regions/nowhere/fault?fault=error&percent=5')).status, 404);
});

t.test('percent: the share of attempts faulted, drawn with the injected random; the cause round-trips', async (t) => {
  const clock = new FakeClock(1_000_000);
  const spec = parseFaultSpec('error', '30', undefined);
  if (typeof spec === 'string') throw new Error(spec);
  const cause = encodeFault(spec, 'drill-x');
  t.same(decodeFault(cause), { spec, reason: 'drill-x' });
  t.equal(decodeFault('fault error 300 0 x'), undefined, 'an out-of-range percent is not a fault');
  t.equal(decodeFault('operator'), undefined);
  const record = (c: string, until: number): RemoteRecord =>
    ({ event: { v: 2, type: 'fault', gatewayId: 'g', endpointId: 'a-0', cause: c, at: 0, expiresAt: until, seq: 1 }, until, receivedAt: 0 }) as RemoteRecord;
  const inj = new FaultInjector(['a', 'b'], clock, seededRandom(7));
  const ep = { id: 'a-0', region: 'a' };
  t.equal(inj.draw(ep), undefined, 'nothing without a fault');
  inj.update([record(cause, clock.now() + 10_000)]);
  let hits = 0;
  for (let i = 0; i < 2000; i++) if (inj.draw(ep) !== undefined) hits++;
  t.ok(hits > 500 && hits < 700, `about 30 % of 2000 attempts (${hits})`);
  t.equal(inj.draw({ id: 'b-0', region: 'b' }), undefined, 'other endpoints untouched');
  t.same([...inj.counts()].find(([l]) => l.region === 'a' && l.fault === 'error')?.[1], hits);
  clock.tick(10_000);
  t.equal(inj.draw(ep), undefined, 'nothing after the expiry');
  inj.update([record(encodeFault({ kind: 'error', percent: 0, delayMs: 0 }, 'end'), clock.now() + 500)]);
  t.same(inj.active(), [], 'a 0 % record (unfault) injects nothing');
});
