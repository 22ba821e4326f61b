/**
 * Scrape once per fleet on an in-process fleet (MemoryStores on one bus, one fake clock, real
 * simulators serving vLLM /metrics): each endpoint is read by its rendezvous owner only and every
 * gateway has fresh values; a dead owner's endpoints move to the next in the ranking; with the store gone
 * every gateway reads for itself; forged, malformed and foreign reads are refused and counted and never
 * move routing.
 */
import t from 'tap';
import { FleetScrape } from '../src/load/fleet-scrape.js';
import { LoadBook, LoadScraper, createMetricsFetcher, type MetricsFetch } from '../src/load/index.js';
import { rendezvousRanking, ScrapeOwners } from '../src/load/scrape-owners.js';
import { createEndpoint, type Endpoint } from '../src/registry/endpoint.js';
import type { RegionSimulator } from '../src/sim/index.js';
import { FleetSigner } from '../src/state/fleet-signer.js';
import { MemoryBus, MemoryStore } from '../src/state/memory-store.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { encodeRecord } from '../src/fleet/signed-record.js';
import { startSim, type Teardown } from './helpers/gateway.js';
import { until } from './helpers/wait.js';

const SECRET = 'fleet-scrape-test-secret-0123456789';
const INTERVAL = 1000;
const LIVE_TTL = 3000;
const STALE_AFTER = 4000;
const SCORING = { staleAfter: STALE_AFTER, queueSaturation: 5, kvSaturation: 0.8, queueWeight: 2, kvWeight: 0.5, runningWeight: 0 };

interface Fleet {
  clock: FakeClock;
  bus: MemoryBus;
  sims: RegionSimulator[];
  endpoints: Endpoint[];
  /** Advance the fake clock and wait until every scrape it started has answered. */
  step(ms: number): Promise<void>;
  scrapes(): number;
}

interface Member {
  id: string;
  store: MemoryStore;
  book: LoadBook;
  share: FleetScrape;
  scraper: LoadScraper;
  stop(): Promise<void>;
}

async function fleetOf(t: Teardown, n: number): Promise<Fleet> {
  const clock = new FakeClock();
  const bus = new MemoryBus();
  const sims: RegionSimulator[] = [];
  const endpoints: Endpoint[] = [];
  for (let i = 0; i < n; i++) {
    const sim = await startSim(t, { name: `r${i}`, models: ['m'] });
    sim.setLoadReport({ waiting: i, running: 1, kv: 0.1 });
    sims.push(sim);
    endpoints.push(
      createEndpoint(
        { name: `r${i}`, provider: 'sim', priority: 0, endpoints: [] },
        { url: sim.url, weight: 1, models: ['m'], headers: {}, connections: 0, loadSignals: { engine: 'vllm', path: '/metrics', interval: INTERVAL } },
        0,
      ),
    );
  }
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  let inflight = 0;
  const real = createMetricsFetcher({ maxBytes: 1 << 20, connectTimeout: 1000 });
  t.teardown(() => real.close());
  fetchers.set(bus, async (e, p, s) => {
    inflight++;
    try {
      return await real.fetch(e, p, s);
    } finally {
      inflight--;
    }
  });
  return {
    clock,
    bus,
    sims,
    endpoints,
    async step(ms) {
      for (let done = 0; done < ms; done += 100) {
        clock.tick(Math.min(100, ms - done));
        await until('scrapes answered', () => inflight === 0);
        await settle();
      }
    },
    scrapes: () => sims.reduce((sum, s) => sum + (s.stats.byPath['/metrics'] ?? 0), 0),
  };
}

const fetchers = new Map<MemoryBus, MetricsFetch>();

async function member(t: Teardown, f: Fleet, id: string, secret = SECRET): Promise<Member> {
  const store = new MemoryStore({ gatewayId: id, clock: f.clock, localEvents: () => [], bus: f.bus, secret });
  await store.start();
  const book = new LoadBook(f.clock, SCORING, () => 0);
  const share = new FleetScrape({
    gatewayId: id,
    clock: f.clock,
    store,
    signer: new FleetSigner(secret),
    book,
    endpoints: f.endpoints,
    intervalMs: INTERVAL,
    liveTtlMs: LIVE_TTL,
    staleAfter: STALE_AFTER,
  });
  const fetch = fetchers.get(f.bus);
  if (fetch === undefined) throw new Error('no fetcher');
  const scraper = new LoadScraper({
    endpoints: f.endpoints,
    clock: f.clock,
    fetch,
    book,
    timeout: 500,
    shouldScrape: (e) => share.shouldScrape(e),
    onRead: (e, byModel) => share.noteRead(e, byModel),
  });
  await share.start();
  scraper.start();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    scraper.close();
    share.close();
    await store.close();
  };
  t.teardown(stop);
  return { id, store, book, share, scraper, stop };
}

const ownerOf = (e: Endpoint, live: readonly string[]): string => rendezvousRanking(e.id, live)[0] ?? '';

t.test('rendezvous ranking: every gateway computes the same owner; a leaving gateway moves only its own endpoints', async (t) => {
  const ids = Array.from({ length: 200 }, (_, i) => `ep-${i}`);
  const live = Array.from({ length: 50 }, (_, i) => `gw-${i}`);
  const a = new ScrapeOwners(ids);
  const b = new ScrapeOwners(ids);
  a.setLive(live);
  b.setLive([...live].reverse());
  t.same(ids.map((e) => a.owner(e)), ids.map((e) => b.owner(e)), 'the order of the live set does not matter');
  const perGateway = new Map<string, number>();
  for (const e of ids) perGateway.set(a.owner(e) ?? '', (perGateway.get(a.owner(e) ?? '') ?? 0) + 1);
  t.ok(Math.max(...perGateway.values()) <= 12, `spread: at most ${Math.max(...perGateway.values())} of 200 endpoints on one of 50 gateways`);
  const gone = 'gw-7';
  const before = new Map(ids.map((e) => [e, a.owner(e)]));
  const moved = a.setLive(live.filter((g) => g !== gone));
  t.same(moved.sort(), ids.filter((e) => before.get(e) === gone).sort(), 'only the leaver’s endpoints move');
  for (const e of moved) t.equal(a.owner(e), rendezvousRanking(e, live)[1], `${e} goes to the next in its ranking`);
  t.same(a.setLive(live.filter((g) => g !== gone)), [], 'the same live set moves nothing');
});

t.test('three gateways: one scrape per endpoint per interval across the fleet, fresh values everywhere', async (t) => {
  const f = await fleetOf(t, 4);
  const g = [await member(t, f, 'g1'), await member(t, f, 'g2'), await member(t, f, 'g3')];
  // Start-up: each gateway read what it did not yet know an owner for; let ownership settle.
  await f.step(3 * INTERVAL);
  const live = ['g1', 'g2', 'g3'];
  for (const m of g) t.same(m.share.status().liveGateways, live, `${m.id} sees the fleet`);
  const start = f.scrapes();
  // Reads refused while the joiners' views of the live set lagged (hand-overs) are counted; none after.
  const refusedAtStart = g.map((m) => m.share.status().refusedReads);
  const K = 10;
  await f.step(K * INTERVAL);
  const made = f.scrapes() - start;
  t.ok(made <= K * f.endpoints.length + f.endpoints.length, `${made} scrapes over ${K} intervals of ${f.endpoints.length} endpoints (≤ ${K * f.endpoints.length} + ${f.endpoints.length})`);
  t.ok(made >= (K - 1) * f.endpoints.length, `every endpoint is still read each interval (${made})`);
  for (const [i, e] of f.endpoints.entries()) {
    const owner = ownerOf(e, live);
    for (const m of g) {
      t.equal(m.book.signals(e, 'm')?.waiting, i, `${m.id} has fresh values of ${e.id}`);
      t.same(m.share.source(e), { source: m.id === owner ? 'self' : owner, owner }, `${m.id}: ${e.id} read by ${owner}`);
    }
  }
  const skipped = g.reduce((s, m) => s + m.scraper.skipped, 0);
  t.ok(skipped > made, `the others skipped their turns (${skipped} skipped)`);
  for (const [i, m] of g.entries()) t.match(m.share.status(), { sharing: true, refusedRecords: 0, refusedReads: refusedAtStart[i] }, `${m.id}: nothing refused in steady state`);

  // A change at a server reaches every gateway through its owner.
  f.sims[2]?.setLoadReport({ waiting: 42, running: 3, kv: 0.5 });
  await f.step(3 * INTERVAL);
  for (const m of g) t.equal(m.book.signals(f.endpoints[2] as Endpoint, 'm')?.waiting, 42, `${m.id} sees the new queue`);

  // The owner of at least one endpoint dies: the next in each ranking takes over.
  const victim = g.find((m) => f.endpoints.some((e) => ownerOf(e, live) === m.id));
  if (victim === undefined) throw new Error('nobody owns anything');
  const orphans = f.endpoints.filter((e) => ownerOf(e, live) === victim.id);
  await victim.stop();
  const rest = g.filter((m) => m !== victim);
  const restIds = rest.map((m) => m.id);
  // The victim's record expires after LIVE_TTL; the next exchange and scrape turn follow.
  await f.step(LIVE_TTL + 2 * INTERVAL);
  for (const m of rest) t.same(m.share.status().liveGateways, restIds, `${m.id} no longer counts ${victim.id}`);
  const afterDeath = f.scrapes();
  await f.step(5 * INTERVAL);
  const madeAfter = f.scrapes() - afterDeath;
  t.ok(madeAfter <= 6 * f.endpoints.length, `still one scrape per endpoint per interval (${madeAfter} over 5 intervals)`);
  for (const e of orphans) {
    const heir = ownerOf(e, restIds);
    t.equal(heir, rendezvousRanking(e.id, live).filter((x) => x !== victim.id)[0], `${e.id}: the next in the ranking`);
    for (const m of rest) {
      t.same(m.share.source(e), { source: m.id === heir ? 'self' : heir, owner: heir }, `${m.id}: ${e.id} now read by ${heir}`);
      t.not(m.book.signals(e, 'm'), undefined, `${m.id}: ${e.id} fresh`);
    }
  }

  // The store goes away: every gateway reads every endpoint itself.
  for (const m of rest) await m.store.close();
  await f.step(2 * INTERVAL);
  const afterStore = f.scrapes();
  const K2 = 4;
  await f.step(K2 * INTERVAL);
  const alone = f.scrapes() - afterStore;
  t.ok(alone >= (K2 - 1) * f.endpoints.length * rest.length, `each reads for itself: ${alone} scrapes over ${K2} intervals`);
  for (const m of rest) {
    t.equal(m.share.status().sharing, false, `${m.id} stopped sharing`);
    for (const e of f.endpoints) {
      t.same(m.share.source(e), { source: 'self', owner: null }, `${m.id} reads ${e.id} itself`);
      t.not(m.book.signals(e, 'm'), undefined, `${m.id}: ${e.id} fresh`);
    }
  }
});

t.test('forged, malformed and foreign reads are refused, counted, and move nothing', async (t) => {
  const f = await fleetOf(t, 2);
  f.sims[0]?.setLoadReport({ waiting: 1, running: 1, kv: 0.1 });
  const g1 = await member(t, f, 'g1');
  const g2 = await member(t, f, 'g2');
  await f.step(3 * INTERVAL);
  const live = ['g1', 'g2'];
  const [e0] = f.endpoints as [Endpoint, Endpoint];
  const owner0 = ownerOf(e0, live);
  const reader = owner0 === 'g1' ? g2 : g1;
  const saturated = [{ model: 'm', waiting: 999, running: 9, kv: 1 }];
  const write = (field: string, raw: string): void => void f.bus.exchangeRecords('load', { field, ttl: LIVE_TTL, raw }, f.clock.now(), field);
  const stranger = new FleetSigner('not-the-fleet-secret-012345');
  const fleetSigner = new FleetSigner(SECRET);
  // Without the secret, claiming the owner's endpoint; signed, but filed under another gateway's name;
  // unreadable; too large.
  write('ghost', encodeRecord(stranger, 'load-share', { gatewayId: 'ghost', ttlMs: LIVE_TTL, reads: [{ endpoint: e0.id, n: 1e6, ageMs: 0, models: saturated }] }));
  write('spoof', encodeRecord(fleetSigner, 'load-share', { gatewayId: owner0, ttlMs: LIVE_TTL, reads: [{ endpoint: e0.id, n: 1e6, ageMs: 0, models: saturated }] }));
  write('junk', '{"kind":"load-share","body":"[1,2');
  write('huge', 'x'.repeat(70 * 1024));
  await f.step(INTERVAL);
  for (const m of [g1, g2]) {
    t.same(m.share.status().liveGateways, live, `${m.id}: no refused record counts as a live gateway`);
    t.equal(m.share.status().refusedRecords, 4, `${m.id} counted the four refused records`);
    t.equal(m.book.signals(e0, 'm')?.waiting, 1, `${m.id}: routing unmoved`);
  }
  await f.step(2 * INTERVAL);
  t.equal(g1.share.status().refusedRecords, 4, 'a record still in the store is not counted again');

  // A fleet member (valid signature, live) sends reads for an endpoint it does not own and one nobody knows.
  const intruder = Array.from({ length: 100 }, (_, i) => `g${i + 3}`).find((x) => f.endpoints.every((e) => ownerOf(e, [...live, x]) !== x));
  if (intruder === undefined) throw new Error('no id that owns nothing');
  const before = [g1, g2].map((m) => m.share.status().refusedReads);
  write(intruder, encodeRecord(fleetSigner, 'load-share', { gatewayId: intruder, ttlMs: LIVE_TTL, reads: [{ endpoint: e0.id, n: 7, ageMs: 0, models: saturated }, { endpoint: 'nope', n: 7, ageMs: 0, models: saturated }] }));
  await f.step(2 * INTERVAL);
  for (const [i, m] of [g1, g2].entries()) {
    t.same(m.share.status().liveGateways, [...live, intruder].sort(), `${m.id} counts the member as live`);
    t.equal(m.share.status().refusedReads - (before[i] ?? 0), 2, `${m.id} refused the foreign read and the unknown endpoint, once each`);
    t.equal(m.book.signals(e0, 'm')?.waiting, 1, `${m.id}: routing unmoved by a read from a non-owner`);
    t.equal(m.share.source(e0).owner, owner0);
  }
  t.equal(reader.share.source(e0).source, owner0, 'the reader still uses the owner’s values');
});

t.test('shared values age from the owner’s read; an owner that stops reading is not waited for', async (t) => {
  const f = await fleetOf(t, 1);
  const [e0] = f.endpoints as [Endpoint];
  // A fleet member that wins e0 against both gateways; its record says it read e0 500 ms ago.
  const owner = Array.from({ length: 100 }, (_, i) => `w${i}`).find((x) => ownerOf(e0, ['g1', 'g2', x]) === x);
  if (owner === undefined) throw new Error('no id that wins e0');
  const signer = new FleetSigner(SECRET);
  const write = (n: number, ageMs: number, waiting: number): void =>
    void f.bus.exchangeRecords('load', { field: owner, ttl: LIVE_TTL, raw: encodeRecord(signer, 'load-share', { gatewayId: owner, ttlMs: LIVE_TTL, reads: [{ endpoint: e0.id, n, ageMs, models: [{ model: 'm', waiting, running: 0, kv: 0 }] }] }) }, f.clock.now(), owner);
  write(1, 500, 33);
  f.clock.tick(200); // it sits in the store 200 ms before the gateways start
  const g1 = await member(t, f, 'g1');
  const g2 = await member(t, f, 'g2');
  await f.step(100);
  for (const m of [g1, g2]) {
    t.equal(m.share.source(e0).source, owner, `${m.id} uses ${owner}'s read`);
    t.equal(m.book.signals(e0, 'm')?.waiting, 33);
    t.equal(m.book.ageMs(e0), 500 + 200 + 100, `${m.id}: age = the writer's 500 ms + 200 ms in the store + 100 ms since`);
    t.notOk(m.share.shouldScrape(e0), `${m.id} leaves e0 to ${owner}`);
  }
  t.equal(f.sims[0]?.stats.byPath['/metrics'] ?? 0, 0, 'nobody scraped e0');
  // The owner stays live but writes no newer read: once it is older than staleAfter, both read e0 themselves.
  const readAt = f.clock.monotonic() - 800;
  for (let i = 0; i < 4; i++) {
    write(1, f.clock.monotonic() - readAt, 33); // the same read again, older: liveness refreshed, no newer values
    await f.step(INTERVAL);
  }
  t.ok(g1.share.shouldScrape(e0) && g2.share.shouldScrape(e0), 'both read e0 themselves');
  write(1, f.clock.monotonic() - readAt, 33);
  await f.step(INTERVAL); // their next scrape turn
  t.ok((f.sims[0]?.stats.byPath['/metrics'] ?? 0) >= 2, 'and the simulator sees them');
  for (const m of [g1, g2]) {
    t.same(m.share.source(e0), { source: 'self', owner }, `${m.id}: ${owner} still owns e0, just is not heard`);
    t.equal(m.book.signals(e0, 'm')?.waiting, 0, `${m.id} has its own fresh values`);
  }
  // A read already stale on arrival is ignored.
  write(2, STALE_AFTER + 1, 77);
  await f.step(INTERVAL);
  t.equal(g1.book.signals(e0, 'm')?.waiting, 0, 'a stale shared read does not replace fresh own values');
  t.equal(g1.share.source(e0).source, 'self');
});
