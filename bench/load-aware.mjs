/**
 * Load-aware routing under a burst: a near region (5 ms) that runs few sequences at once and a far one
 * (40 ms) with room. The same streamed workload goes, in one run, through four routers:
 *
 * - load signals: the gateway scraping both simulators' vLLM /metrics (`loadSignals`, 50 ms interval);
 * - latency only: the same gateway without `loadSignals` (today's peak-EWMA × in-flight scoring);
 * - least busy: the fewest requests in flight from this client (LiteLLM's least-busy), client-side;
 * - round robin: alternating, client-side.
 *
 * The two client-side routers go straight to the simulators (no gateway hop), which favours them a
 * little. Time to first token is measured at the client: request sent → first SSE data frame.
 * Each router gets fresh simulators. Phases: steady (low concurrency) and burst (above the near
 * region's capacity).
 *
 *   npm run build && node bench/load-aware.mjs [--burst 32] [--requests 160] [--near-capacity 4]
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { createGateway, resolveConfig } from '../dist/index.js';
import { RegionSimulator } from '../dist/sim/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const BURST = arg('burst', 32);
const REQUESTS = arg('requests', 160);
const NEAR_CAPACITY = arg('near-capacity', 4);
const SIM = { ttftMs: 250, tokens: 8, tokenIntervalMs: 25, models: ['m'] };

async function sims() {
  const near = new RegionSimulator({ name: 'near', latencyMs: 5, capacity: NEAR_CAPACITY, ...SIM });
  const far = new RegionSimulator({ name: 'far', latencyMs: 40, capacity: 256, ...SIM });
  await Promise.all([near.start(), far.start()]);
  return { near, far, close: () => Promise.all([near.close(), far.close()]) };
}

async function gatewayRouter(s, withSignals) {
  const loadSignals = withSignals ? { engine: 'vllm', interval: 50 } : undefined;
  const gw = createGateway(
    resolveConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        admin: { enabled: false },
        log: { level: 'silent' },
        timeouts: { firstByte: '60s' },
        routing: { modelDiscovery: { interval: 0 } },
        regions: [
          { name: 'near', endpoints: [{ url: s.near.url, models: ['m'], ...(loadSignals && { loadSignals }) }] },
          { name: 'far', endpoints: [{ url: s.far.url, models: ['m'], ...(loadSignals && { loadSignals }) }] },
        ],
      },
      {},
    ),
  );
  await gw.listen();
  if (withSignals) {
    const eps = gw.registry.endpoints;
    while (!eps.every((e) => gw.loadBook.signals(e, 'm') !== undefined)) await new Promise((r) => setTimeout(r, 10));
  }
  return { target: () => gw.url, done: () => {}, close: () => gw.close(0, 0) };
}

function leastBusy(s) {
  const busy = new Map([[s.near.url, 0], [s.far.url, 0]]);
  return {
    target: () => {
      // Ties go to the near region (listed first), as a latency-sorted deployment list would.
      const url = busy.get(s.near.url) <= busy.get(s.far.url) ? s.near.url : s.far.url;
      busy.set(url, busy.get(url) + 1);
      return url;
    },
    done: (url) => busy.set(url, busy.get(url) - 1),
    close: async () => {},
  };
}

function roundRobin(s) {
  let i = 0;
  return { target: () => (i++ % 2 === 0 ? s.near.url : s.far.url), done: () => {}, close: async () => {} };
}

const agent = new Agent({ connections: 512 });
const BODY = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });

/** One streamed request; its TTFT in ms, or undefined on error. */
async function one(router) {
  const url = router.target();
  const t0 = performance.now();
  try {
    const res = await request(`${url}/v1/chat/completions`, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json' }, dispatcher: agent });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    region[String(res.headers['x-sim-region'])] = (region[String(res.headers['x-sim-region'])] ?? 0) + 1;
    let ttft;
    for await (const chunk of res.body) if (ttft === undefined && chunk.toString().includes('data:')) ttft = performance.now() - t0;
    return ttft;
  } catch {
    return undefined;
  } finally {
    router.done(url);
  }
}

let region = {};
async function phase(router, concurrency, total) {
  region = {};
  const ttfts = [];
  let errors = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const v = await one(router);
        if (v === undefined) errors++;
        else ttfts.push(v);
      }
    }),
  );
  ttfts.sort((a, b) => a - b);
  const q = (p) => (ttfts.length === 0 ? NaN : ttfts[Math.min(ttfts.length - 1, Math.floor(p * ttfts.length))]);
  return { p50: q(0.5), p99: q(0.99), errors, near: region.near ?? 0 };
}

const ROUTERS = {
  'load signals': (s) => gatewayRouter(s, true),
  'latency only': (s) => gatewayRouter(s, false),
  'least busy': async (s) => leastBusy(s),
  'round robin': async (s) => roundRobin(s),
};

const rows = [];
for (const [name, make] of Object.entries(ROUTERS)) {
  const s = await sims();
  const router = await make(s);
  const steady = await phase(router, 2, 60);
  const burst = await phase(router, BURST, REQUESTS);
  rows.push({ name, steady, burst });
  await router.close();
  await s.close();
}
await agent.close();

const f = (v) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
console.log(`near: 5 ms, ${NEAR_CAPACITY} sequences; far: 40 ms, 256 sequences; TTFT ${SIM.ttftMs} ms + ${SIM.tokens} tokens × ${SIM.tokenIntervalMs} ms`);
console.log(`steady: 60 requests, 2 at a time; burst: ${REQUESTS} requests, ${BURST} at a time\n`);
console.log('| router | steady TTFT p50 | steady p99 | steady to near | burst TTFT p50 | burst p99 | burst to near | errors |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.name} | ${f(r.steady.p50)} | ${f(r.steady.p99)} | ${r.steady.near} | ${f(r.burst.p50)} | ${f(r.burst.p99)} | ${r.burst.near} | ${r.steady.errors + r.burst.errors} |`,
  );
