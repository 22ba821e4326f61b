/**
 * Load-aware routing under a burst: a near region (5 ms) that runs few sequences at once and a far one
 * (40 ms) with room. The same streamed workload goes, in one run, through four routers:
 *
 * - load signals: a gateway scraping both simulators' vLLM /metrics (`loadSignals`, every `--interval`
 *   ms, 500 by default, the config default);
 * - latency only: the same gateway without `loadSignals` (peak-EWMA × in-flight scoring);
 * - least busy: the fewest requests in flight from this client (LiteLLM's least-busy), client-side;
 * - round robin: alternating, client-side.
 *
 * Gateway, simulators and this load client run in three processes (`bench/lib/servers/serve.mjs`
 * children), so a busy load client or simulator does not delay the gateway's scrapes or picks. The two
 * client-side routers go straight to the simulators (no gateway hop), which favours them a little.
 * Time to first token is measured at the client: request sent → first SSE data frame. Every router
 * gets fresh simulators (and a fresh gateway) in every round; the order of routers rotates by round.
 * Phases: warm-up (10 requests, not counted), steady (2 at a time, within the near region's capacity),
 * then burst (above it).
 * Figures are medians over rounds; the ratio columns divide latency-only's p99 by load signals' p99.
 *
 *   npm run build && node bench/load-aware.mjs [--rounds 3] [--burst 32] [--requests 160] [--steady 60] [--near-capacity 4]
 *     [--interval 50] [--routers load,latency,least-busy,round-robin]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { CORES, installExitHooks, stopAll } from './lib/children.mjs';
import { median, summarize } from './lib/stats.mjs';
import { startNodeServer } from './lib/targets.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    burst: { type: 'string', default: '32' },
    requests: { type: 'string', default: '160' },
    steady: { type: 'string', default: '60' },
    'near-capacity': { type: 'string', default: '4' },
    routers: { type: 'string' },
    interval: { type: 'string', default: '500' },
  },
});
const positive = (/** @type {string} */ flag) => {
  const n = Number(values[/** @type {keyof typeof values} */ (flag)]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag}: expected a positive integer, got "${values[/** @type {keyof typeof values} */ (flag)]}"`);
  return n;
};
const ROUNDS = positive('rounds');
const BURST = positive('burst');
const REQUESTS = positive('requests');
const STEADY = positive('steady');
const NEAR_CAPACITY = positive('near-capacity');
const INTERVAL = positive('interval');
const WARMUP = 10;
const SIM = { ttftMs: 250, tokens: 8, tokenIntervalMs: 25, models: ['m'] };
const REGIONS = [
  { name: 'near', latencyMs: 5, capacity: NEAR_CAPACITY, ...SIM },
  { name: 'far', latencyMs: 40, capacity: 256, ...SIM },
];

installExitHooks();

/** Both simulators in one child process; `urls` by region name. */
async function sims() {
  const { child, info } = await startNodeServer('sims', 'sim-regions', { regions: REGIONS }, { core: CORES.load });
  return { urls: /** @type {Record<string, string>} */ (info.urls), stop: () => child.stop() };
}

/** A gateway child in front of the simulators, with or without load signals. */
async function gatewayRouter(/** @type {Record<string, string>} */ urls, /** @type {boolean} */ withSignals) {
  const opts = {
    regions: REGIONS.map((r) => ({ name: r.name, urls: [urls[r.name]] })),
    endpoint: { models: ['m'], ...(withSignals && { loadSignals: { engine: 'vllm', interval: INTERVAL } }) },
    config: { timeouts: { firstByte: '60s' }, routing: { modelDiscovery: { interval: 0 } } },
  };
  const { child, info } = await startNodeServer('gateway', 'regiongate', opts, { core: CORES.system });
  return { target: () => info.url, done: () => {}, stop: () => child.stop() };
}

function leastBusy(/** @type {Record<string, string>} */ urls) {
  const busy = new Map([[urls.near, 0], [urls.far, 0]]);
  return {
    target: () => {
      // Ties go to the near region (listed first), as a latency-sorted deployment list would.
      const url = /** @type {number} */ (busy.get(urls.near)) <= /** @type {number} */ (busy.get(urls.far)) ? urls.near : urls.far;
      busy.set(url, /** @type {number} */ (busy.get(url)) + 1);
      return url;
    },
    done: (/** @type {string} */ url) => busy.set(url, /** @type {number} */ (busy.get(url)) - 1),
    stop: async () => {},
  };
}

function roundRobin(/** @type {Record<string, string>} */ urls) {
  let i = 0;
  return { target: () => (i++ % 2 === 0 ? urls.near : urls.far), done: () => {}, stop: async () => {} };
}

const agent = new Agent({ connections: 512 });
const BODY = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });

/**
 * One streamed request through `router`: its TTFT in ms and the region that answered, or undefined
 * on an error (a non-200 or a broken stream).
 */
async function one(router) {
  const url = router.target();
  const t0 = performance.now();
  try {
    const res = await request(`${url}/v1/chat/completions`, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json' }, dispatcher: agent });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    let ttft;
    for await (const chunk of res.body) if (ttft === undefined && chunk.toString().includes('data:')) ttft = performance.now() - t0;
    return ttft === undefined ? undefined : { ttft, region: String(res.headers['x-sim-region']) };
  } catch {
    return undefined;
  } finally {
    router.done(url);
  }
}

/** `total` requests, `concurrency` at a time (each worker sends its next as the last one ends). */
async function phase(router, concurrency, total) {
  const ttfts = [];
  /** @type {Record<string, number[]>} */
  const byRegion = {};
  let errors = 0;
  let near = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const r = await one(router);
        if (r === undefined) errors++;
        else {
          ttfts.push(r.ttft);
          (byRegion[r.region] ??= []).push(r.ttft);
          if (r.region === 'near') near++;
        }
      }
    }),
  );
  const s = summarize(ttfts);
  const worst = Object.entries(byRegion).map(([region, v]) => `${region} ${Math.max(...v).toFixed(0)}`).join(', ');
  return { p50: s.p50, p99: s.p99, errors, near, worst };
}

const ROUTERS = {
  'load signals': (/** @type {Record<string, string>} */ urls) => gatewayRouter(urls, true),
  'latency only': (/** @type {Record<string, string>} */ urls) => gatewayRouter(urls, false),
  'least busy (client-side)': async (/** @type {Record<string, string>} */ urls) => leastBusy(urls),
  'round robin (client-side)': async (/** @type {Record<string, string>} */ urls) => roundRobin(urls),
};
/** `--routers load,latency,least-busy,round-robin`: a subset, by the first word of the name. */
const wanted = values.routers?.split(',').map((w) => w.trim());
const names = Object.keys(ROUTERS).filter((n) => wanted === undefined || wanted.some((w) => n.startsWith(w.replace('-', ' '))));
if (names.length === 0) throw new Error(`--routers: none of ${values.routers} (load, latency, least-busy, round-robin)`);

/** @type {Record<string, { steady: Awaited<ReturnType<typeof phase>>, burst: Awaited<ReturnType<typeof phase>> }[]>} */
const runs = Object.fromEntries(names.map((n) => [n, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const s = await sims();
      const router = await ROUTERS[/** @type {keyof typeof ROUTERS} */ (name)](s.urls);
      await phase(router, 2, WARMUP); // not counted: connections, JIT, first latency samples
      const steady = await phase(router, 2, STEADY);
      const burst = await phase(router, BURST, REQUESTS);
      runs[name].push({ steady, burst });
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} ${name}: steady p99 ${steady.p99.toFixed(0)} ms (slowest: ${steady.worst}), burst p99 ${burst.p99.toFixed(0)} ms, burst to near ${burst.near} (slowest: ${burst.worst})\n`,
      );
      await router.stop();
      await s.stop();
    }
  }
} finally {
  await agent.close();
  await stopAll();
}

const f = (/** @type {number} */ v) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
const med = (/** @type {string} */ name, /** @type {'steady' | 'burst'} */ ph, /** @type {'p50' | 'p99' | 'near' | 'errors'} */ k) =>
  median(runs[name].map((r) => r[ph][k]));
const each = (/** @type {string} */ name, /** @type {'steady' | 'burst'} */ ph) => runs[name].map((r) => r[ph].p99.toFixed(0)).join(' / ');
console.log(`near: 5 ms, ${NEAR_CAPACITY} sequences; far: 40 ms, 256 sequences; TTFT ${SIM.ttftMs} ms + ${SIM.tokens} tokens × ${SIM.tokenIntervalMs} ms; load signals scraped every ${INTERVAL} ms`);
console.log(`steady: ${STEADY} requests, 2 at a time; burst: ${REQUESTS} requests, ${BURST} at a time; median of ${ROUNDS} rounds (p99 of each round in brackets)\n`);
console.log('| router | steady TTFT p50 | steady p99 | steady to near | burst TTFT p50 | burst p99 | burst to near | errors |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const name of names) {
  const errors = runs[name].reduce((n, r) => n + r.steady.errors + r.burst.errors, 0);
  console.log(
    `| ${name} | ${f(med(name, 'steady', 'p50'))} | ${f(med(name, 'steady', 'p99'))} (${each(name, 'steady')}) | ${med(name, 'steady', 'near')} | ${f(med(name, 'burst', 'p50'))} | ${f(med(name, 'burst', 'p99'))} (${each(name, 'burst')}) | ${med(name, 'burst', 'near')} | ${errors} |`,
  );
}
const ratio = (/** @type {'steady' | 'burst'} */ ph) => med('latency only', ph, 'p99') / med('load signals', ph, 'p99');
if (names.includes('load signals') && names.includes('latency only')) console.log(`\nlatency-only p99 ÷ load-signals p99: burst ${ratio('burst').toFixed(2)}× (goal ≥ 2×), steady ${ratio('steady').toFixed(2)}× (goal ≥ 1×, no worse)`);
