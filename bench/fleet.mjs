#!/usr/bin/env node
/**
 * Fleet bench (issue 4): N gateway processes sharing endpoint health through their own redis-server
 * (loopback, ephemeral port). Figures, printed as markdown tables and written to
 * bench/results/fleet.json; nothing is asserted:
 *   1. propagation: gateway 0's ejection applied on every other gateway (p50/p99/max, per gateway,
 *      stage by stage), next to a bare PUBLISH→SUBSCRIBE between the same processes in the same run
 *   2. region a dies under steady load: client errors, and first attempts each gateway still sent to
 *      region a before and after the fleet's first detection
 *   3. Redis SIGKILLed then restarted, and SIGSTOPped then resumed, under load: errors, p50/p99 per
 *      window, store status from GET /admin/state
 *   4. Redis down for --outage-seconds under load: RSS and heap per gateway every 5 s, store `dropped`
 * Parts 2–4 run first, under one continuous load; part 1 runs last on the idle fleet (its hundreds of
 * ejections would otherwise lengthen the ejection backoff that part 2 meets).
 *
 *   npm run build && node bench/fleet.mjs [--gateways 3] [--samples 200] [--outage-seconds 30]
 *     [--rate 50] [--real-every 20] [--dead-seconds 5] [--window-seconds 5]
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installExitHooks, killAll, stopAll } from './lib/children.mjs';
import { regionDeath, memoryOutage, redisFaults } from './lib/fleet-faults.mjs';
import { mono, sleep, startGateway, stateOf, waitConnected, waitFor } from './lib/fleet-gateways.mjs';
import { startLoad, timeline } from './lib/fleet-load.mjs';
import { measurePropagation } from './lib/fleet-propagation.mjs';
import { haveRedisServer, startRedis } from './lib/fleet-redis.mjs';
import { memoryTable, propagationTables, redisFaultsTable, regionDeathTable } from './lib/fleet-report.mjs';
import { machineInfo } from './lib/machine.mjs';
import { markdownTable } from './lib/table.mjs';

const DIST = new URL('../dist/index.js', import.meta.url);
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

const { values } = parseArgs({
  options: {
    gateways: { type: 'string', default: '3' },
    samples: { type: 'string', default: '200' },
    'outage-seconds': { type: 'string', default: '30' },
    rate: { type: 'string', default: '50' },
    'real-every': { type: 'string', default: '20' },
    'dead-seconds': { type: 'string', default: '5' },
    'window-seconds': { type: 'string', default: '5' },
  },
});
/** A whole-number flag within [min, max], or exit with a message naming it. */
function flag(/** @type {keyof typeof values} */ name, /** @type {number} */ min, /** @type {number} */ max) {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`--${name}: must be a whole number within ${min}..${max} (got ${values[name]})\n`);
    process.exit(2);
  }
  return v;
}
const N = flag('gateways', 2, 8);
const SAMPLES = flag('samples', 1, 10_000);
const OUTAGE_MS = flag('outage-seconds', 5, 3600) * 1000;
const RATE = flag('rate', 1, 500);
const REAL_EVERY = flag('real-every', 0, 10_000);
const DEAD_MS = flag('dead-seconds', 1, 60) * 1000;
const WINDOW_MS = flag('window-seconds', 1, 60) * 1000;
const log = (/** @type {string} */ s) => process.stderr.write(`${s}\n`);

if (!existsSync(DIST)) {
  process.stderr.write('dist/index.js is missing: run `npm run build` first\n');
  process.exit(1);
}
if (!haveRedisServer()) {
  process.stdout.write('fleet bench skipped: redis-server is not on PATH; install it: apt-get install redis-server\n');
  process.exit(0);
}
installExitHooks();
const { RegionSimulator } = await import(new URL('../dist/sim/index.js', import.meta.url).href);

const sims = { a: new RegionSimulator({ name: 'a', latencyMs: 2, tokens: 1 }), b0: new RegionSimulator({ name: 'b', latencyMs: 2, tokens: 1 }), b1: new RegionSimulator({ name: 'b', latencyMs: 2, tokens: 1 }) };
/** @type {Awaited<ReturnType<typeof startRedis>> | undefined} */
let redis;
/** @type {import('./lib/fleet-gateways.mjs').FleetGateway[]} */
let gws = [];
/** @type {ReturnType<typeof startLoad> | undefined} */
let load;
const started = Date.now();
const load1AtStart = Number(loadavg()[0].toFixed(2));
try {
  await Promise.all(Object.values(sims).map((s) => s.start()));
  redis = await startRedis();
  const keyPrefix = `rgbench-fleet-${process.pid}:`;
  const config = (/** @type {number} */ i) => ({
    gatewayId: `gw${i}`,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { enabled: true, host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    state: { store: 'redis', redis: { url: redis?.url, keyPrefix } },
    regions: [
      { name: 'a', priority: 0, endpoints: [{ url: sims.a.url }] },
      { name: 'b', priority: 1, endpoints: [{ url: sims.b0.url }, { url: sims.b1.url }] },
    ],
  });
  log(`fleet: redis-server on ${redis.url}; starting ${N} gateways…`);
  gws = await Promise.all(Array.from({ length: N }, (_, i) => startGateway(i, config(i))));
  if (!(await waitConnected(gws, 15_000))) throw new Error('the gateways\' stores did not connect to Redis within 15 s');
  const ids = gws.map((g) => g.id);

  // Parts 2–4 under one continuous load.
  load = startLoad({ urls: gws.map((g) => g.url), rate: RATE, maxSeconds: OUTAGE_MS / 1000 + 600 });
  const loadFrom = mono();
  await sleep(3000);
  log('fleet: region a dies…');
  const death = await regionDeath({ gws, simA: sims.a, deadMs: DEAD_MS });
  log(`fleet: Redis faults (windows of ${WINDOW_MS / 1000} s)…`);
  const faults = await redisFaults({ gws, redis, windowMs: WINDOW_MS, log });
  log(`fleet: Redis outage of ${OUTAGE_MS / 1000} s…`);
  const memory = await memoryOutage({ gws, redis, outageMs: OUTAGE_MS, everyMs: 5000, log });
  await load.stop();
  const results = load.results;
  load = undefined;

  // Part 1 on the idle fleet.
  await waitFor(() => gws.every((g) => stateOf(g, 'a-0') !== 'ejected'), 20_000);
  log(`fleet: propagation, ${SAMPLES} samples…`);
  const propagation = await measurePropagation({ gws, simA: sims.a, redisUrl: redis.url, channel: `${keyPrefix}bench-raw`, samples: SAMPLES, realEvery: REAL_EVERY, log });

  const prop = propagationTables(propagation, ids.slice(1));
  const tables = [...prop.tables, regionDeathTable(death, results), redisFaultsTable(faults, results), memoryTable(memory, ids, results)];
  const settings = {
    gateways: N,
    samples: SAMPLES,
    realEvery: REAL_EVERY,
    ratePerGateway: RATE,
    deadSeconds: DEAD_MS / 1000,
    windowSeconds: WINDOW_MS / 1000,
    outageSeconds: OUTAGE_MS / 1000,
    load1AtStart,
    regions: 'a (priority 0): 1 endpoint; b (priority 1): 2 endpoints; simulators 2 ms, 1 token, non-streamed',
    gatewayDefaults: 'health, retry, state timings: defaults (probes every 1 s, refresh every 2 s, commandTimeout 250 ms)',
  };
  const header = `## Fleet (${N} gateways, ${RATE} req/s each open-loop, ${SAMPLES} propagation samples, Redis outage ${OUTAGE_MS / 1000} s; ${((Date.now() - started) / 1000).toFixed(0)} s run; load average ${load1AtStart} at the start, ${loadavg()[0].toFixed(2)} at the end on ${cpus().length} cores)\n\n`;
  process.stdout.write(`\n${header}${tables.map(markdownTable).join('\n')}`);
  mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}fleet.json`;
  // Marks (s from the start of the load) to read the per-second timeline by.
  const at = (/** @type {number} */ t) => Number(((t - loadFrom) / 1000).toFixed(2));
  const marks = {
    regionDies: at(death.from),
    ...Object.fromEntries(faults.map((w) => [w.name, at(w.from)])),
    outageFrom: at(memory.from),
    outageTo: at(memory.to),
  };
  const raw = {
    propagation: { ...propagation, figures: prop.figures },
    regionDeath: death,
    redisFaults: faults,
    memory,
    load: { marks, timeline: timeline(results, loadFrom) },
  };
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ scenario: 'fleet', machine: machineInfo(), quick: false, date: new Date().toISOString(), settings, skipped: [], tables, raw }, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`fleet: wrote ${file}`);
} finally {
  await load?.stop().catch(() => undefined);
  await Promise.all(gws.map((g) => g.call('close', {}, 5000).catch(() => undefined)));
  await stopAll(3000).catch(() => undefined);
  await redis?.close().catch(() => undefined);
  await Promise.all(Object.values(sims).map((s) => s.close().catch(() => undefined)));
  killAll();
}
