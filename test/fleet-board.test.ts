/**
 * The fleet view's summaries on an in-process fleet (MemoryStores on one bus, a fake clock): each
 * gateway sees every gateway's traffic; a summary written without the fleet's secret (a forged
 * gateway) is not shown; a summary too large keeps its counters and drops its endpoint view; with the
 * store gone a gateway shows itself and says the view is stale.
 */
import t from 'tap';
import { ABANDONED_AFTER_MS, FleetBoard, MAX_DRILLS_LISTED } from '../src/fleet/fleet-board.js';
import { fleetSummarySchema, MAX_ERROR_CAUSES, MAX_SUMMARY_BYTES } from '../src/fleet/fleet-summary.js';
import { TrafficTally } from '../src/fleet/traffic-tally.js';
import type { EndpointHealthSnapshot } from '../src/health/health-snapshot.js';
import type { Endpoint } from '../src/registry/endpoint.js';
import { FleetSigner } from '../src/state/fleet-signer.js';
import { MemoryBus, MemoryStore } from '../src/state/memory-store.js';
import { FakeClock } from '../src/util/fake-clock.js';

const SECRET = 'fleet-board-test-secret-0123456789';
const a = { id: 'a-0', region: 'a' } as Endpoint;
const b = { id: 'b-0', region: 'b' } as Endpoint;

interface View {
  stale: boolean;
  gateways: { gatewayId: string; self: boolean; requests: number; clientErrors: number; endpoints: unknown[]; regions: { region: string; attempts: number; p50Ms: number | null }[] }[];
  totals: { requests: number; clientErrors: number; regions: Record<string, { attempts: number }> };
}

async function member(t: { teardown(fn: () => unknown): void }, bus: MemoryBus, clock: FakeClock, id: string, secret: string, endpoints: () => EndpointHealthSnapshot[] = () => []) {
  const store = new MemoryStore({ gatewayId: id, clock, localEvents: () => [], bus, secret });
  await store.start();
  t.teardown(() => store.close());
  const tally = new TrafficTally([a, b], clock);
  const board = new FleetBoard({ gatewayId: id, clock, store, signer: new FleetSigner(secret), tally, endpoints, inflight: () => 0, intervalMs: 1000 });
  t.teardown(() => board.close());
  return { store, tally, board, view: () => board.view() as View };
}

t.test('every gateway sees every gateway of its fleet, and no forged one', async (t) => {
  const clock = new FakeClock();
  const bus = new MemoryBus();
  const g1 = await member(t, bus, clock, 'g1', SECRET);
  const g2 = await member(t, bus, clock, 'g2', SECRET);
  const ghost = await member(t, bus, clock, 'ghost', 'not-the-fleet-secret-0123456789');
  g1.tally.attemptStarted(a);
  g1.tally.attemptEnded({ kind: 'success', endpoint: a, status: 200, ttfbMs: 40 });
  g1.tally.requestEnded(200);
  g2.tally.attemptStarted(b);
  g2.tally.attemptEnded({ kind: 'upstream_5xx', endpoint: b, status: 503, ttfbMs: 5 });
  g2.tally.requestEnded(503);
  for (const m of [ghost, g1, g2]) await m.board.tick();
  await g1.board.tick(); // reads g2's summary, written after its first tick
  const view = g1.view();
  t.same(view.gateways.map((g) => g.gatewayId), ['g1', 'g2'], 'the unsigned gateway is not shown');
  t.equal(view.stale, false);
  t.same(view.totals.requests, 2);
  t.same(view.totals.clientErrors, 1);
  t.match(view.totals.regions, { a: { attempts: 1, errors: 0, inflight: 0 }, b: { attempts: 1, errors: 1, inflight: 0 } });
  // g2 read g1's first summary, whose window held the sample; g1's next window has none.
  t.equal(g2.view().gateways.find((g) => g.gatewayId === 'g1')?.regions.find((r) => r.region === 'a')?.p50Ms, 40);
  t.equal(view.gateways.find((g) => g.self)?.regions.find((r) => r.region === 'a')?.p50Ms, null);
});

t.test('client errors are counted by cause, bounded, and travel in the summary', async (t) => {
  const clock = new FakeClock();
  const bus = new MemoryBus();
  const g1 = await member(t, bus, clock, 'g1', SECRET);
  const g2 = await member(t, bus, clock, 'g2', SECRET);
  g1.tally.requestEnded(503, 'RG_ERR_RETRY_BUDGET');
  g1.tally.requestEnded(503, 'RG_ERR_RETRY_BUDGET');
  g1.tally.requestEnded(502); // an upstream's answer passed on: no gateway code
  g1.tally.requestEnded(429, 'RG_ERR_RATE_LIMITED'); // not a 5xx: not a client error
  g1.tally.requestEnded(200);
  t.same(g1.tally.client(), { requests: 5, clientErrors: 3, clientErrorCauses: { RG_ERR_RETRY_BUDGET: 2, http_502: 1 } });
  for (let i = 0; i < 40; i++) g1.tally.requestEnded(500 + (i % 100), `RG_ERR_X${i}`);
  const causes = g1.tally.client().clientErrorCauses;
  t.equal(Object.keys(causes).length, MAX_ERROR_CAUSES, 'at most MAX_ERROR_CAUSES causes');
  t.ok((causes.other ?? 0) > 0, 'the rest count under other');
  t.equal(Object.values(causes).reduce((x, y) => x + y, 0), g1.tally.client().clientErrors, 'every error counted once');
  await g1.board.tick();
  await g2.board.tick();
  const seen = g2.view().gateways.find((g) => g.gatewayId === 'g1') as unknown as { clientErrorCauses: Record<string, number> };
  t.same(seen.clientErrorCauses, causes, 'the peer reads the causes');
  const summary = (g1.board.view() as { gateways: object[] }).gateways[0];
  t.ok(fleetSummarySchema.safeParse({ ...summary, clientErrorCauses: { RG_ERR_RETRY_BUDGET: 1 } }).success, 'a plain cause is read');
  t.notOk(fleetSummarySchema.safeParse({ ...summary, clientErrorCauses: { '\u001b[31mred': 1 } }).success, 'a cause with control characters is refused');
});

t.test('a summary over the size bound keeps its counters and drops its endpoint view', async (t) => {
  const clock = new FakeClock();
  const bus = new MemoryBus();
  const many: EndpointHealthSnapshot[] = Array.from({ length: 256 }, (_, i) => ({ id: `endpoint-with-a-long-name-${'x'.repeat(150)}-${i}`, region: 'a', state: 'healthy', cause: null }) as unknown as EndpointHealthSnapshot);
  const g1 = await member(t, bus, clock, 'g1', SECRET, () => many);
  const g2 = await member(t, bus, clock, 'g2', SECRET);
  t.ok(JSON.stringify(many).length > MAX_SUMMARY_BYTES);
  g1.tally.requestEnded(200);
  await g1.board.tick();
  await g2.board.tick();
  const seen = g2.view().gateways.find((g) => g.gatewayId === 'g1');
  t.equal(seen?.requests, 1);
  t.same(seen?.endpoints, []);
});

t.test('with the store gone, a gateway shows itself and says the view is stale', async (t) => {
  const clock = new FakeClock();
  const bus = new MemoryBus();
  const g1 = await member(t, bus, clock, 'g1', SECRET);
  await g1.board.tick();
  t.equal(g1.view().stale, false);
  await g1.store.close();
  clock.tick(3500);
  await g1.board.tick();
  const view = g1.view();
  t.equal(view.stale, true);
  t.same(view.gateways.map((g) => [g.gatewayId, g.self]), [['g1', true]]);
});

t.test('drill records: newest first, bounded, and a running one long past its end shown as abandoned', async (t) => {
  const clock = new FakeClock();
  const bus = new MemoryBus();
  const g1 = await member(t, bus, clock, 'g1', SECRET);
  const g2 = await member(t, bus, clock, 'g2', SECRET);
  const start = clock.now();
  t.ok(await g1.board.recordDrill({ id: 'drill-a-1', region: 'a', startedAt: start, status: 'running', durationMs: 60_000 }));
  t.ok(await g1.board.recordDrill({ id: 'drill-a-0', region: 'a', startedAt: start - 1000, status: 'aborted', report: { verdict: 'aborted' } }));
  t.match(await g2.board.drills(), [{ id: 'drill-a-1', status: 'running' }, { id: 'drill-a-0', status: 'aborted', report: { verdict: 'aborted' } }], 'any gateway lists them, newest first');
  t.equal((await g2.board.drills())?.[0]?.abandoned, undefined, 'still within its time');
  clock.tick(60_000 + ABANDONED_AFTER_MS + 1);
  t.equal((await g2.board.drills())?.[0]?.abandoned, true, 'its maker never reported: abandoned');
  for (let i = 0; i < MAX_DRILLS_LISTED + 5; i++) await g1.board.recordDrill({ id: `drill-b-${i}`, region: 'b', startedAt: clock.now() + i, status: 'pass' });
  const listed = (await g2.board.drills()) ?? [];
  t.equal(listed.length, MAX_DRILLS_LISTED, 'bounded');
  t.equal(listed[0]?.id, `drill-b-${MAX_DRILLS_LISTED + 4}`);
});
