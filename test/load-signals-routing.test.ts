// Routing on model servers' load signals: real gateways over real simulators whose vLLM /metrics say
// saturated or idle; staleness and the scrape loop on a fake clock over a real simulator.
import t from 'tap';
import { request } from 'undici';
import { resolveConfig } from '../src/config/index.js';
import { createGateway, type RunningGateway } from '../src/create-gateway.js';
import { createMetricsFetcher, LoadBook, LoadScraper } from '../src/load/index.js';
import { createEndpoint, type Endpoint } from '../src/registry/endpoint.js';
import type { RegionSimulator } from '../src/sim/index.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { startSim, type Teardown } from './helpers/gateway.js';
import { until } from './helpers/wait.js';

const SCORING = { staleAfter: 2000, queueSaturation: 5, kvSaturation: 0.8, queueWeight: 2, kvWeight: 2, runningWeight: 0.05 };

async function loadGateway(t: Teardown, near: RegionSimulator, far: RegionSimulator, staleAfter = 2000): Promise<RunningGateway> {
  const loadSignals = { engine: 'vllm', interval: 25 };
  const config = resolveConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: true, host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
      routing: { modelDiscovery: { interval: 0 }, loadSignals: { staleAfter } },
      regions: [
        { name: 'near', endpoints: [{ url: near.url, models: ['m'], loadSignals }] },
        { name: 'far', endpoints: [{ url: far.url, models: ['m'], loadSignals }] },
      ],
    },
    {},
  );
  const gw = createGateway(config);
  await gw.listen();
  t.teardown(() => gw.close(0, 0));
  return gw;
}

/** Send `n` chat completions one after another; the count each region answered. */
async function split(gw: RunningGateway, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    });
    await res.body.text();
    const region = String(res.headers['x-sim-region']);
    counts[region] = (counts[region] ?? 0) + 1;
  }
  return counts;
}

function endpointOf(gw: RunningGateway, region: string): Endpoint {
  const e = gw.registry.endpoints.find((x) => x.region === region);
  if (e === undefined) throw new Error(`no endpoint in ${region}`);
  return e;
}

t.test('the faster but saturated region gets almost nothing, and takes its share back once idle', async (t) => {
  const near = await startSim(t, { name: 'near', latencyMs: 0, models: ['m'] });
  const far = await startSim(t, { name: 'far', latencyMs: 40, models: ['m'] });
  // KV nearly full but no queue yet: the score alone would still favour the near region; saturation does not.
  near.setLoadReport({ waiting: 0, running: 64, kv: 0.97 });
  far.setLoadReport({ waiting: 0, running: 3, kv: 0.1 });
  const gw = await loadGateway(t, near, far);
  const nearEp = endpointOf(gw, 'near');
  await until('the near server reported saturated', () => gw.loadBook.saturated(nearEp, 'm'));
  const busy = await split(gw, 40);
  t.ok((busy.near ?? 0) <= 2, `saturated near region got ${busy.near ?? 0} of 40`);

  const state = (await (await request(`${gw.admin?.url}/admin/state`)).body.json()) as { endpoints: { id: string; loadSignals?: { saturated: boolean; fresh: boolean; total: { waiting: number } }; score?: number }[] };
  const shown = state.endpoints.find((e) => e.id === nearEp.id);
  t.match(shown?.loadSignals, { saturated: true, fresh: true, total: { waiting: 0, kv: 0.97 } }, '/admin/state shows the signals');
  t.type(shown?.score, 'number', '/admin/state shows the score');
  const metrics = await (await request(`${gw.admin?.url}/metrics`)).body.text();
  t.match(metrics, /regiongate_endpoint_load_kv_usage\{endpoint="near-0",region="near"\} 0.97/);
  t.match(metrics, /regiongate_endpoint_load_saturated\{endpoint="near-0",region="near"\} 1/);
  t.match(metrics, /regiongate_endpoint_load_predicted_running\{endpoint="near-0",region="near"\} 6[34]/, 'the prediction scoring uses (64, or 63 if a near attempt ended since the read)');
  t.match(metrics, /regiongate_endpoint_load_age_seconds\{endpoint="near-0",region="near"\} [\d.e-]+/);
  t.match(metrics, /regiongate_endpoint_score\{endpoint="near-0",region="near"\} [\d.e+]+/);
  t.match(shown?.loadSignals, { predicted: { waiting: 0, running: 64 } }, '/admin/state shows the prediction');

  near.setLoadReport({ waiting: 0, running: 1, kv: 0.05 });
  await until('the near server reported idle', () => gw.loadBook.signals(nearEp, 'm')?.waiting === 0);
  const idle = await split(gw, 40);
  t.ok((idle.near ?? 0) >= 24, `idle near region took its share back: ${idle.near ?? 0} of 40`);
});

t.test('a burst through a real capacity model: the near server takes what its slots hold, the rest spills at once', async (t) => {
  // Streams hold a slot for 300 ms to first token: the whole burst is picked before any of them ends.
  const near = await startSim(t, { name: 'near', latencyMs: 0, ttftMs: 300, tokens: 2, capacity: 2, models: ['m'] });
  const far = await startSim(t, { name: 'far', latencyMs: 40, ttftMs: 300, tokens: 2, models: ['m'] });
  const gw = await loadGateway(t, near, far);
  const nearEp = endpointOf(gw, 'near');
  const stream = async (base = gw.url): Promise<string> => {
    const res = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.body.text();
    return String(res.headers['x-sim-region']);
  };
  // One stream straight to the near server while a read sees it: the gateway learns the KV share of a
  // sequence (0.5), i.e. that the server runs 2 at once.
  const first = stream(near.url);
  await until('a read shows the near server running one sequence', () => gw.loadBook.signals(nearEp, 'm')?.running === 1);
  await first;
  await until('the near server idle again', () => gw.loadBook.signals(nearEp, 'm')?.running === 0);
  const regions = await Promise.all(Array.from({ length: 12 }, () => stream()));
  const toNear = regions.filter((r) => r === 'near').length;
  t.ok(toNear >= 1 && toNear <= 2, `near took ${toNear} of 12 (it runs 2 at once)`);
  t.equal(near.stats.byPath['/v1/chat/completions'], 1 + toNear, 'nothing else reached it');
  t.equal(toNear + regions.filter((r) => r === 'far').length, 12, 'every stream answered');
});

t.test('a saturated region is still a fallback when every region is saturated', async (t) => {
  const near = await startSim(t, { name: 'near', models: ['m'] });
  const far = await startSim(t, { name: 'far', models: ['m'] });
  near.setLoadReport({ waiting: 50, running: 64, kv: 1 });
  far.setLoadReport({ waiting: 50, running: 64, kv: 1 });
  const gw = await loadGateway(t, near, far);
  await until('both saturated', () => gw.registry.endpoints.every((e) => gw.loadBook.saturated(e, 'm')));
  const counts = await split(gw, 6);
  t.equal((counts.near ?? 0) + (counts.far ?? 0), 6, 'every request served');
});

t.test('stale signals fall back to latency-only scoring, per endpoint, visibly', async (t) => {
  const near = await startSim(t, { name: 'near', latencyMs: 0, models: ['m'] });
  const far = await startSim(t, { name: 'far', latencyMs: 40, models: ['m'] });
  near.setLoadReport({ waiting: 30, running: 64, kv: 0.97 });
  const gw = await loadGateway(t, near, far, 300);
  const nearEp = endpointOf(gw, 'near');
  await until('near saturated', () => gw.loadBook.saturated(nearEp, 'm'));
  // The near server stops answering its metrics (its requests still work): its last report ages out.
  near.setLoadReport('unavailable');
  await until('near signals stale', () => gw.loadBook.signals(nearEp, 'm') === undefined);
  t.notOk(gw.loadBook.saturated(nearEp, 'm'), 'stale signals never saturate');
  t.match(gw.loadBook.snapshot(nearEp), { fresh: false, lastError: /503/ }, 'the snapshot says stale, and why');
  t.equal(gw.loadBook.signals(endpointOf(gw, 'far'), 'm')?.waiting, 0, 'the far endpoint keeps its own fresh signals');
  const counts = await split(gw, 40);
  t.ok((counts.near ?? 0) >= 24, `latency-only again: the faster near region got ${counts.near ?? 0} of 40`);
});

t.test('scraper on a fake clock: one scrape per interval, a stale read after staleAfter scores on latency', async (t) => {
  const sim = await startSim(t, { name: 'near', models: ['m'] });
  sim.setLoadReport({ waiting: 7, running: 2, kv: 0.5 });
  const clock = new FakeClock();
  const endpoint = createEndpoint(
    { name: 'near', provider: 'sim', priority: 0, endpoints: [] },
    { url: sim.url, weight: 1, models: ['m'], headers: {}, connections: 0, loadSignals: { engine: 'vllm', path: '/metrics', interval: 1000 } },
    0,
  );
  const book = new LoadBook(clock, SCORING, () => 0);
  const fetcher = createMetricsFetcher({ maxBytes: 1 << 20, connectTimeout: 1000 });
  const scraper = new LoadScraper({ endpoints: [endpoint], clock, fetch: fetcher.fetch, book, timeout: 500 });
  t.teardown(async () => {
    scraper.close();
    await fetcher.close();
  });
  scraper.start();
  await until('first scrape', () => book.signals(endpoint, 'm') !== undefined);
  t.equal(sim.stats.byPath['/metrics'], 1);
  t.equal(book.score(endpoint, 'm', 10), 10 * (1 + 2 * 7 + 2 * 0.5 + 0.05 * 2), 'score = latency × (1 + 2·waiting + 2·kv + 0.05·running)');
  t.ok(book.saturated(endpoint, 'm'), 'queue 7 ≥ 5 saturates');
  // A reload's new thresholds and weights apply to the next pick; staleAfter stays.
  book.configure({ ...SCORING, queueSaturation: 10, queueWeight: 1 });
  t.notOk(book.saturated(endpoint, 'm'), 'reloaded to 10: queue 7 no longer saturates');
  t.equal(book.score(endpoint, 'm', 10), 10 * (1 + 1 * 7 + 2 * 0.5 + 0.05 * 2), 'the new queue weight');
  book.configure(SCORING);
  await until('next scrape scheduled', () => clock.pending > 0);
  clock.tick(999);
  t.equal(sim.stats.byPath['/metrics'], 1, 'no scrape before the interval');
  clock.tick(1);
  await until('second scrape', () => sim.stats.byPath['/metrics'] === 2);
  scraper.close();
  clock.tick(2001);
  t.equal(book.signals(endpoint, 'm'), undefined, 'older than staleAfter: missing');
  t.equal(book.score(endpoint, 'm', 10), 10, 'latency only');
  t.notOk(book.saturated(endpoint, 'm'));
});

t.test('a burst between two reads does not herd onto the endpoint that looked idle', async (t) => {
  const clock = new FakeClock();
  const endpoint = createEndpoint(
    { name: 'near', provider: 'sim', priority: 0, endpoints: [] },
    { url: 'http://127.0.0.1:9', weight: 1, models: ['m'], headers: {}, connections: 0, loadSignals: { engine: 'vllm', path: '/metrics', interval: 1000 } },
    0,
  );
  // This gateway's attempts in flight to the endpoint, as the health tracker counts them.
  let inflight = 0;
  const book = new LoadBook(clock, { ...SCORING, kvWeight: 0.5, runningWeight: 0 }, () => inflight);
  book.update(endpoint, new Map([['m', { waiting: 0, running: 1, kv: 0.25 }]]));
  t.notOk(book.saturated(endpoint, 'm'));
  t.equal(book.score(endpoint, 'm', 10), 10 * (1 + 0.5 * 0.25), 'an idle server scores about its latency');
  inflight += 2;
  t.same(book.predicted(endpoint, 'm'), { waiting: 0, running: 3, kv: 0.75 }, 'two started since the read: 3 of 4 slots, no queue');
  t.notOk(book.saturated(endpoint, 'm'), 'KV 0.75 predicted');
  t.equal(book.score(endpoint, 'm', 10), 10 * (1 + 0.5 * 0.75));
  inflight++;
  t.ok(book.saturated(endpoint, 'm'), 'a third: KV 1.0 predicted, saturated before the next read');
  inflight--;
  t.notOk(book.saturated(endpoint, 'm'), 'one of them finished: a slot is free again, without waiting for a read');
  inflight += 2;
  t.same(book.predicted(endpoint, 'm'), { waiting: 1, running: 4, kv: 1 }, 'past the 4 slots KV tells of, the rest is a predicted queue');
  t.equal(book.score(endpoint, 'm', 10), 10 * (1 + 2 * 1 + 0.5 * 1));
  book.update(endpoint, new Map([['m', { waiting: 1, running: 4, kv: 1 }]]));
  t.same(book.predicted(endpoint, 'm'), { waiting: 1, running: 4, kv: 1 }, 'a read that agrees with the prediction changes nothing');
  inflight--;
  t.same(book.predicted(endpoint, 'm'), { waiting: 0, running: 4, kv: 1 }, 'one ended since the read: the queued one took its slot');
  clock.tick(10);
  book.update(endpoint, new Map([['m', { waiting: 0, running: 0, kv: 0 }]]));
  t.same(book.predicted(endpoint, 'm'), { waiting: 0, running: 3, kv: 0.75 }, "a read that predates this gateway's attempts: they are on the server all the same");
  inflight = 0;
  t.same(book.predicted(endpoint, 'm'), { waiting: 0, running: 0, kv: 0 }, 'all ended: idle, the KV share learned earlier still known');
  inflight = 4;
  t.ok(book.saturated(endpoint, 'm'), 'the learned KV share saturates an idle-looking server at its capacity');

  inflight = 0;
  const unknown = new LoadBook(clock, SCORING, () => inflight);
  unknown.update(endpoint, new Map([['m', { waiting: 0, running: 0, kv: undefined }]]));
  inflight = 20;
  t.same(unknown.predicted(endpoint, 'm'), { waiting: 0, running: 20, kv: undefined }, 'no KV figure and no queue: capacity unknown, no predicted queue');
  inflight = 8;
  unknown.update(endpoint, new Map([['m', { waiting: 2, running: 6, kv: undefined }]]));
  inflight = 11;
  t.same(unknown.predicted(endpoint, 'm'), { waiting: 5, running: 6, kv: undefined }, 'a reported queue says the server is full at 6: the 3 since queue');
  t.ok(unknown.saturated(endpoint, 'm'), 'predicted queue 5 saturates');
  clock.tick(SCORING.staleAfter + 1);
  t.equal(unknown.predicted(endpoint, 'm'), undefined, 'stale: no prediction');
  t.equal(unknown.score(endpoint, 'm', 10), 10, 'latency only');
  t.notOk(unknown.saturated(endpoint, 'm'));
});
