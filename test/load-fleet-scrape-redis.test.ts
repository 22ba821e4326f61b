/**
 * Scrape once per fleet on real Redis (its own redis-server on an ephemeral port): three gateways over
 * four simulators serving vLLM /metrics. Each endpoint is read by one gateway per interval across the
 * fleet (counted at the simulators, against the turns the gateways' own scrape loops took) and every
 * gateway has fresh values; one gateway's wall clock is ten minutes off, which must not matter; records
 * forged straight into Redis are refused and move nothing. Then
 * a gateway dies and its endpoints are re-owned; then Redis dies and every gateway reads for itself.
 */
import { Redis } from 'ioredis';
import t from 'tap';
import { request } from 'undici';
import { encodeRecord } from '../src/fleet/signed-record.js';
import { resolveConfig } from '../src/config/index.js';
import { createGateway, type RunningGateway } from '../src/create-gateway.js';
import { rendezvousRanking } from '../src/load/scrape-owners.js';
import type { RegionSimulator } from '../src/sim/index.js';
import { FleetSigner } from '../src/state/fleet-signer.js';
import { systemClock, type Clock } from '../src/util/clock.js';
import { startSim, type Teardown } from './helpers/gateway.js';
import { REDIS_SKIP, startRedisServer } from './helpers/redis-server.js';
import { until } from './helpers/wait.js';

const SECRET = 'fleet-scrape-redis-secret-0123456789';
const ENDPOINTS = 4;

async function gateway(t: Teardown, id: string, redisUrl: string, sims: readonly RegionSimulator[], clock: Clock = systemClock): Promise<RunningGateway> {
  const loadSignals = { engine: 'vllm', interval: '200ms' };
  const config = resolveConfig(
    {
      gatewayId: id,
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: true, host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
      health: { probes: false },
      routing: { modelDiscovery: { interval: 0 }, loadSignals: { staleAfter: '2s' } },
      state: {
        store: 'redis',
        secret: SECRET,
        refreshInterval: '200ms',
        redis: { url: redisUrl, keyPrefix: 'rg-fleetscrape:', heartbeatInterval: '200ms', heartbeatTimeout: '1s', connectTimeout: '500ms', maxReconnectDelay: '500ms' },
      },
      regions: sims.map((s) => ({ name: s.name, endpoints: [{ url: s.url, models: ['m'], loadSignals }] })),
    },
    {},
  );
  const gw = createGateway(config, { clock });
  await gw.listen();
  t.teardown(() => gw.close(0, 0));
  return gw;
}

/** Turns the gateway's scrape loops have taken (read or skipped), over every endpoint. */
const turns = (gw: RunningGateway): number => gw.loadScraper.scrapes + gw.loadScraper.skipped;
const scrapesAt = (sims: readonly RegionSimulator[]): number => sims.reduce((n, s) => n + (s.stats.byPath['/metrics'] ?? 0), 0);

function settled(gws: readonly RunningGateway[]): boolean {
  const live = gws.map((g) => g.gatewayId).sort();
  return gws.every((g) => {
    const s = g.fleetScrape.status();
    return (
      s.sharing &&
      s.liveGateways.join() === live.join() &&
      g.registry.endpoints.every((e) => {
        const owner = rendezvousRanking(e.id, live)[0];
        const src = g.fleetScrape.source(e);
        return src.owner === owner && src.source === (owner === g.gatewayId ? 'self' : owner) && g.loadBook.signals(e, 'm') !== undefined;
      })
    );
  });
}

t.test('three gateways on real Redis scrape each endpoint once per interval, hand over, and fall back', { skip: REDIS_SKIP, timeout: 240_000 }, async (t) => {
  const redis = await startRedisServer(t);
  const sims: RegionSimulator[] = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    const sim = await startSim(t, { name: `r${i}`, models: ['m'] });
    sim.setLoadReport({ waiting: i + 1, running: 1, kv: 0.1 });
    sims.push(sim);
  }
  // g3's wall clock is ten minutes ahead: shared ages are relative and timed by Redis, so it must not matter.
  const skewed: Clock = { ...systemClock, now: () => Date.now() + 600_000 };
  const gws = [await gateway(t, 'g1', redis.url, sims), await gateway(t, 'g2', redis.url, sims), await gateway(t, 'g3', redis.url, sims, skewed)];
  await until('every gateway uses its owners’ values for every endpoint', () => settled(gws));

  // K intervals as the gateways count them: each gateway takes one turn per endpoint per interval.
  const K = 10;
  const turns0 = gws.map(turns);
  const scrapes0 = scrapesAt(sims);
  const perSim0 = sims.map((s) => s.stats.byPath['/metrics'] ?? 0);
  await until(`${K} intervals`, () => gws.every((g, i) => turns(g) - (turns0[i] ?? 0) >= K * ENDPOINTS));
  const scraped = scrapesAt(sims) - scrapes0;
  const intervals = Math.max(...gws.map((g, i) => turns(g) - (turns0[i] ?? 0))) / ENDPOINTS;
  // Without sharing the fleet would make 3 × intervals × ENDPOINTS.
  t.ok(scraped <= Math.ceil(intervals) * ENDPOINTS + 2 * ENDPOINTS, `${scraped} scrapes in ${intervals} intervals of ${ENDPOINTS} endpoints across 3 gateways`);
  // The owner's loop runs a little slower than the others' (its turns include the fetch), so no exact floor.
  for (const [i, sim] of sims.entries()) {
    const n = (sim.stats.byPath['/metrics'] ?? 0) - (perSim0[i] ?? 0);
    t.ok(n >= K / 2, `${sim.name} is still read regularly (${n} times)`);
  }
  t.ok(settled(gws), 'every gateway still has fresh values from each endpoint’s owner');
  for (const g of gws) t.match(g.fleetScrape.status(), { sharing: true, refusedRecords: 0 }, `${g.gatewayId} refused no record`);
  for (const [i, e] of gws[0]?.registry.endpoints.entries() ?? []) for (const g of gws) t.equal(g.loadBook.signals(e, 'm')?.waiting, i + 1, `${g.gatewayId}: ${e.id}'s queue`);

  // /admin/state says who read each endpoint's values, and their age.
  const g2 = gws[1] as RunningGateway;
  const state = (await (await request(`${g2.admin?.url}/admin/state`)).body.json()) as {
    loadSharing: { sharing: boolean; liveGateways: string[] };
    endpoints: { id: string; loadSignals: { source: string; owner: string; ageMs: number; fresh: boolean } }[];
  };
  t.match(state.loadSharing, { sharing: true, liveGateways: ['g1', 'g2', 'g3'] });
  for (const e of state.endpoints) {
    const owner = rendezvousRanking(e.id, ['g1', 'g2', 'g3'])[0];
    t.match(e.loadSignals, { source: owner === 'g2' ? 'self' : owner, owner, fresh: true }, `/admin/state: ${e.id} read by ${owner}`);
    t.ok(e.loadSignals.ageMs >= 0 && e.loadSignals.ageMs <= 2000, `${e.id}: age ${e.loadSignals.ageMs} ms`);
  }
  const metrics = await (await request(`${g2.admin?.url}/metrics`)).body.text();
  t.match(metrics, /regiongate_load_scrapes_total\{outcome="skipped"\} [1-9]/, 'skipped turns are counted');

  // Forgeries written straight into Redis: unsigned and without an end, and signed with another secret.
  const raw = new Redis(redis.url, { lazyConnect: true });
  raw.on('error', () => {});
  await raw.connect();
  t.teardown(() => raw.disconnect());
  const lies = { ttlMs: 60_000, reads: gws[0]?.registry.endpoints.map((e) => ({ endpoint: e.id, n: 1, ageMs: 0, models: [{ model: 'm', waiting: 999, running: 0, kv: 1 }] })) };
  const unsigned = encodeRecord(new FleetSigner(undefined), 'load-share', { gatewayId: 'ghost-1', ...lies });
  const wrongKey = encodeRecord(new FleetSigner('another-fleet-secret-0123456789'), 'load-share', { gatewayId: 'ghost-2', ...lies });
  await raw.hset('rg-fleetscrape:load', 'ghost-1', `0 ${unsigned}`, 'ghost-2', `${Date.now() + 60_000} ${wrongKey}`);
  await until('every gateway refused both forgeries', () => gws.every((g) => g.fleetScrape.status().refusedRecords >= 2));
  for (const g of gws) t.same(g.fleetScrape.status().liveGateways, ['g1', 'g2', 'g3'], `${g.gatewayId}: forgers are not live`);
  t.ok(settled(gws), 'ownership and sources unmoved');
  for (const [i, e] of gws[0]?.registry.endpoints.entries() ?? []) for (const g of gws) t.equal(g.loadBook.signals(e, 'm')?.waiting, i + 1, `${g.gatewayId}: ${e.id}'s queue unmoved`);
  await raw.hdel('rg-fleetscrape:load', 'ghost-1', 'ghost-2');

  // The owner of most endpoints dies: the next in each ranking takes over.
  const owned = (id: string): number => sims.filter((_, i) => rendezvousRanking(`r${i}-0`, ['g1', 'g2', 'g3'])[0] === id).length;
  const victim = [...gws].sort((a, b) => owned(b.gatewayId) - owned(a.gatewayId))[0] as RunningGateway;
  const rest = gws.filter((g) => g !== victim);
  t.ok(owned(victim.gatewayId) > 0, `${victim.gatewayId} owns ${owned(victim.gatewayId)} endpoints`);
  const diedAt = performance.now();
  await victim.close(0, 0);
  await until(`${victim.gatewayId}'s endpoints re-owned`, () => settled(rest));
  // A figure, not an assertion: record lifetime (heartbeatTimeout 1 s) + an exchange + a scrape turn.
  t.comment(`re-owned and fresh everywhere ${Math.round(performance.now() - diedAt)} ms after ${victim.gatewayId} died`);
  for (const g of rest) t.same(g.fleetScrape.status().liveGateways, rest.map((x) => x.gatewayId), `${g.gatewayId} no longer counts ${victim.gatewayId}`);
  const turns1 = rest.map(turns);
  const scrapes1 = scrapesAt(sims);
  await until('5 more intervals', () => rest.every((g, i) => turns(g) - (turns1[i] ?? 0) >= 5 * ENDPOINTS));
  const after = scrapesAt(sims) - scrapes1;
  const intervals2 = Math.max(...rest.map((g, i) => turns(g) - (turns1[i] ?? 0))) / ENDPOINTS;
  t.ok(after <= Math.ceil(intervals2) * ENDPOINTS + 2 * ENDPOINTS, `two gateways: ${after} scrapes in ${intervals2} intervals`);

  // Redis dies: every gateway reads every endpoint itself.
  await redis.close();
  await until('every gateway reads for itself', () =>
    rest.every((g) => !g.fleetScrape.status().sharing && g.registry.endpoints.every((e) => g.fleetScrape.source(e).source === 'self')),
  );
  const own0 = rest.map((g) => g.loadScraper.scrapes);
  await until('each gateway scrapes every endpoint', () => rest.every((g, i) => g.loadScraper.scrapes - (own0[i] ?? 0) >= 3 * ENDPOINTS));
  for (const g of rest)
    for (const e of g.registry.endpoints) t.not(g.loadBook.signals(e, 'm'), undefined, `${g.gatewayId}: ${e.id} fresh without the store`);
});
