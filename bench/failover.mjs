#!/usr/bin/env node
/**
 * Failover bench (issue 3): three simulated regions under steady open-loop load through one gateway;
 * for each fault (`down`, `error`, `hang`, `reset`) injected into the busiest region, measure
 * client-visible errors, the time from the fault to the last first attempt sent to the bad region,
 * failures before ejection, p99 latency during the fault, and the time to get back to its share after
 * the fault clears. Figures are printed and written to bench/results/failover.json; nothing is asserted.
 *
 *   npm run build && node bench/failover.mjs [--rate 200] [--fault-seconds 4] [--recover-seconds 10]
 */
import diagnostics from 'node:diagnostics_channel';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { CHANNEL, createGateway, resolveConfig } from '../dist/index.js';
import { RegionSimulator } from '../dist/sim/index.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    'fault-seconds': { type: 'string', default: '4' },
    'recover-seconds': { type: 'string', default: '10' },
    faults: { type: 'string', default: 'down,error,hang,reset,hang+hedge' },
  },
});
const RATE = Number(values.rate);
const FAULT_MS = Number(values['fault-seconds']) * 1000;
const RECOVER_MS = Number(values['recover-seconds']) * 1000;
const WARM_MS = 2000;
const FIRST_BYTE_MS = 1000;
const PROBE_MS = 1000;
const HEALTHY_THRESHOLD = 2;
const PROBATION_MS = 3000;

const REGIONS = [
  { name: 'us-east-1', latencyMs: 20 },
  { name: 'europe-west4', latencyMs: 40 },
  { name: 'frankfurt', latencyMs: 60 },
];
const BODY = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

/** Constant-rate load; latency from the scheduled send time (no coordinated omission). */
function startLoad(url, rate, onResult) {
  const pool = new Pool(url, { connections: 256, pipelining: 1 });
  const period = 1000 / rate;
  const t0 = performance.now();
  let sent = 0;
  let stopped = false;
  let inflight = 0;
  const tick = () => {
    if (stopped) return;
    const now = performance.now();
    while (t0 + sent * period <= now) {
      const scheduled = t0 + sent * period;
      sent++;
      inflight++;
      pool
        .request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY })
        .then(async (res) => {
          const region = res.headers['x-regiongate-region'];
          await res.body.dump();
          return { status: res.statusCode, region };
        })
        .catch(() => ({ status: 0, region: undefined }))
        .then((r) => {
          inflight--;
          onResult({ at: scheduled, latency: performance.now() - scheduled, ...r });
        });
    }
    setTimeout(tick, Math.max(0, t0 + sent * period - performance.now()));
  };
  tick();
  return {
    async stop() {
      stopped = true;
      const until = performance.now() + 5000;
      while (inflight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
      await pool.close();
    },
  };
}

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function runFault(name) {
  // `hang+hedge`: the same fault with hedging on (retry.hedge.after 200 ms).
  const [mode, variant] = name.split('+');
  const hedge = variant === 'hedge' ? { hedge: { after: 200 } } : {};
  const sims = REGIONS.map((r) => new RegionSimulator({ ...r, tokens: 1 }));
  await Promise.all(sims.map((s) => s.start()));
  const gw = createGateway(
    resolveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      log: { level: 'silent' },
      timeouts: { firstByte: FIRST_BYTE_MS },
      retry: { ...hedge },
      health: { interval: PROBE_MS, timeout: 500, healthyThreshold: HEALTHY_THRESHOLD, probation: { window: PROBATION_MS } },
      regions: sims.map((s) => ({ name: s.name, endpoints: [{ url: s.url }] })),
    }),
  );
  await gw.listen();
  const bad = sims[0];
  const attempts = []; // first attempts to the bad region: times
  const onAttempt = (m) => {
    if (m.endpoint.region === bad.name && m.attempt === 1) attempts.push(performance.now());
  };
  let badFailures = 0;
  diagnostics.subscribe(CHANNEL.attemptStart, onAttempt);
  const results = [];
  const load = startLoad(gw.url, RATE, (r) => results.push(r));
  await sleep(WARM_MS);
  const faultAt = performance.now();
  await bad.setFault(mode === 'error' ? { mode, status: 503 } : { mode });
  let ejectedAt;
  const off = gw.health.onTransition((t) => {
    if (process.env.DEBUG_FAILOVER && t.endpointId === `${bad.name}-0`) process.stderr.write(`${(performance.now() - faultAt).toFixed(0)} ms ${t.from}->${t.to} ${t.cause}\n`);
    if (t.endpointId === `${bad.name}-0` && t.to === 'ejected' && ejectedAt === undefined) ejectedAt = performance.now();
  });
  await sleep(FAULT_MS);
  const clearAt = performance.now();
  const statsAtClear = bad.stats.byPath['/v1/chat/completions'] ?? 0;
  await bad.setFault({ mode: 'none' });
  await sleep(RECOVER_MS);
  if (process.env.DEBUG_FAILOVER) process.stderr.write(JSON.stringify(gw.health.snapshot().map((s) => [s.id, s.state, s.inflight, s.ewmaMs.toFixed(1), s.weightFactor])) + "\n");
  await load.stop();
  off();
  diagnostics.unsubscribe(CHANNEL.attemptStart, onAttempt);
  await gw.close(1000, 0);
  await Promise.all(sims.map((s) => s.close()));

  const before = results.filter((r) => r.at < faultAt);
  const during = results.filter((r) => r.at >= faultAt && r.at < clearAt);
  const share = (rs) => rs.filter((r) => r.region === bad.name).length / Math.max(1, rs.length);
  const baseShare = share(before.filter((r) => r.at > faultAt - 1500));
  const duringAttempts = attempts.filter((a) => a >= faultAt && a < clearAt);
  // Traffic moved: the last first attempt sent to the bad region before it was ejected. Later ones are
  // probation re-checks after the ejection time ran out (each retried elsewhere).
  const beforeEjection = duringAttempts.filter((a) => ejectedAt === undefined || a <= ejectedAt);
  const lastBad = beforeEjection.length ? beforeEjection[beforeEjection.length - 1] - faultAt : 0;
  const rechecks = duringAttempts.length - beforeEjection.length;
  badFailures = beforeEjection.length;
  // Recovery: first 500 ms window after the clear in which the bad region has ≥ 90% of its old share.
  let recoveredMs = NaN;
  const after = results.filter((r) => r.at >= clearAt);
  for (let w = 0; w + 500 <= RECOVER_MS; w += 100) {
    const win = after.filter((r) => r.at >= clearAt + w && r.at < clearAt + w + 500);
    if (win.length > 10 && share(win) >= 0.9 * baseShare) {
      recoveredMs = w + 500;
      break;
    }
  }
  return {
    fault: name,
    requests: results.length,
    clientErrors: results.filter((r) => r.status !== 200).length,
    clientErrorsDuringFault: during.filter((r) => r.status !== 200).length,
    badShareBefore: Number(baseShare.toFixed(2)),
    firstAttemptsToBadBeforeEjection: badFailures,
    movedAfterMs: Number(lastBad.toFixed(1)),
    probationRechecks: rechecks,
    ejectedAfterMs: ejectedAt === undefined ? null : Number((ejectedAt - faultAt).toFixed(1)),
    badRequestsServedDuringFault: statsAtClear,
    p50BeforeMs: Number(pct(before.map((r) => r.latency), 50).toFixed(1)),
    p99DuringFaultMs: Number(pct(during.map((r) => r.latency), 99).toFixed(1)),
    recoveredToShareMs: Number.isNaN(recoveredMs) ? null : recoveredMs,
  };
}

const rows = [];
for (const mode of values.faults.split(',')) {
  process.stderr.write(`failover: ${mode}…\n`);
  rows.push(await runFault(mode));
}
const header =
  '| fault | requests | client errors | first attempts to bad region before ejection | traffic moved after (ms) | ejected after (ms) | probation re-checks | p50 before (ms) | p99 during fault (ms) | back to its share after clear (ms) |\n' +
  '|---|---|---|---|---|---|---|---|---|---|\n';
const table =
  header +
  rows
    .map(
      (r) =>
        `| ${r.fault} | ${r.requests} | ${r.clientErrors} | ${r.firstAttemptsToBadBeforeEjection} | ${r.movedAfterMs} | ${r.ejectedAfterMs ?? '—'} | ${r.probationRechecks} | ${r.p50BeforeMs} | ${r.p99DuringFaultMs} | ${r.recoveredToShareMs ?? '—'} |`,
    )
    .join('\n');
const settings = `rate ${RATE} req/s open-loop, non-streamed; regions 20/40/60 ms; fault on the fastest for ${FAULT_MS / 1000} s; firstByte ${FIRST_BYTE_MS} ms; probes every ${PROBE_MS} ms, healthy threshold ${HEALTHY_THRESHOLD}, probation ${PROBATION_MS} ms`;
process.stdout.write(`\n## Failover (${settings})\n\n${table}\n`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/failover.json', import.meta.url), JSON.stringify({ settings, node: process.version, date: new Date().toISOString(), rows }, null, 2));
