/**
 * Max throughput under a latency bound: the highest constant rate at which a system answers every
 * request (zero errors) with p99 <= the bound. Round 1 starts at a fraction of the closed-loop ceiling
 * and steps up (or down) until it brackets the answer, then bisects; later rounds refine around
 * round 1's answer. Every search is bounded in steps and each step in time.
 */
import { rotated } from './args.mjs';
import { closedLoopCeiling } from './ceiling.mjs';
import { runClean } from './noise.mjs';
import { cpuSeconds } from './proc-stats.mjs';
import { median } from './stats.mjs';

/**
 * @typedef {object} ThroughputSettings
 * @property {number} rounds
 * @property {number} p99LimitMs
 * @property {number} warmupMs      per step
 * @property {number} durationMs    per step
 * @property {number} connections   client keep-alive connections
 * @property {number} maxSteps      round 1
 * @property {number} refineSteps   later rounds
 * @property {number} resolution    stop when the bracket is this tight (0.05 = 5 %)
 * @property {number} ceilingS      closed-loop probe length (s)
 * @property {number} [timeoutMs]   per-request timeout of a step (an answer slower than this is an error)
 * @property {number[]} loadPids    the bench's processes on the load core (noise check)
 */

const MIN_RATE = 50;
/** Re-runs of noisy steps allowed per search (each step at most 2). */
const NOISE_RETRY_BUDGET = 4;
const roundRate = (/** @type {number} */ r) => Math.max(MIN_RATE, Math.round(r / 50) * 50);
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One system's search.
 * @param {import('./loadgen.mjs').Loadgen} loadgen
 * @param {import('./peers.mjs').System} sys
 * @param {import('./latency-rounds.mjs').Req} req
 * @param {ThroughputSettings} s
 * @param {{ start: number, upFactor: number, downFactor: number, maxSteps: number }} plan
 * @param {(line: string) => void} log
 */
export async function searchMaxRate(loadgen, sys, req, s, plan, log) {
  /** @type {{ rate: number, pass: boolean, p50: number, p99: number, errors: number, lateP99: number, noisy?: string, runs: number }[]} */
  const steps = [];
  let retryBudget = NOISE_RETRY_BUDGET;
  /** @type {{ rate: number, res: any } | undefined} */
  let lo;
  /** @type {{ rate: number, res: any } | undefined} */
  let hi;
  let rate = roundRate(plan.start);
  for (let i = 0; i < plan.maxSteps; i++) {
    const job = () =>
      loadgen.run(
        {
          kind: 'rate',
          origin: sys.url,
          path: req.path,
          method: req.method,
          headers: { ...req.headers, ...sys.headers },
          body: req.body,
          rate,
          warmupMs: s.warmupMs,
          durationMs: s.durationMs,
          connections: s.connections,
          timeoutMs: s.timeoutMs,
        },
        s.warmupMs + s.durationMs + 30_000,
      );
    const cpu0 = sys.pid === undefined ? NaN : cpuSeconds(sys.pid);
    const t0 = performance.now();
    const { res, noisy, runs } = await runClean(job, { system: sys.pid, load: s.loadPids }, Math.min(2, retryBudget), log);
    const cpu = sys.pid === undefined ? '' : `  system CPU ${Math.round(((cpuSeconds(sys.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100)} %`;
    retryBudget -= runs - 1;
    const pass = res.errors === 0 && res.latency.p99 <= s.p99LimitMs;
    steps.push({ rate, pass, p50: res.latency.p50, p99: res.latency.p99, errors: res.errors, lateP99: res.lateness.p99, noisy, runs });
    const errs = res.errors ? ` ${JSON.stringify(res.errorKinds)}` : '';
    log(`    ${sys.name.padEnd(20)} ${String(rate).padStart(6)} req/s  p99 ${res.latency.p99.toFixed(2).padStart(8)} ms  errors ${res.errors}${errs}  generator late p99 ${res.lateness.p99.toFixed(1)} ms${cpu}  ${pass ? 'pass' : 'FAIL'}${noisy ? ` (noisy: ${noisy})` : ''}`);
    if (pass && (!lo || rate > lo.rate)) lo = { rate, res };
    if (!pass && (!hi || rate < hi.rate)) hi = { rate, res };
    let next;
    if (!hi) next = rate * plan.upFactor;
    else if (!lo) next = rate * plan.downFactor;
    else if (hi.rate / lo.rate <= 1 + s.resolution) break;
    else next = (lo.rate + hi.rate) / 2;
    next = roundRate(next);
    if (next === rate || (lo && next <= lo.rate) || (hi && next >= hi.rate) || (!lo && rate <= MIN_RATE)) break;
    rate = next;
    await sleep(200);
  }
  return {
    maxRate: lo?.rate ?? 0,
    p50: lo?.res.latency.p50 ?? NaN,
    p99: lo?.res.latency.p99 ?? NaN,
    noisySteps: steps.filter((x) => x.noisy).length,
    steps,
  };
}

/**
 * Warm every system at full tilt (JIT, pools, connections at high concurrency) before searching: a
 * cold Node system answers its first second at 64 connections in hundreds of ms, which would fail the
 * first step and bias the whole search low. Closed loop for `seconds`; results are discarded.
 * @param {import('./loadgen.mjs').Loadgen} loadgen
 * @param {import('./peers.mjs').System[]} systems
 * @param {import('./latency-rounds.mjs').Req} req
 * @param {number} seconds
 */
export async function primeHard(loadgen, systems, req, seconds) {
  for (const sys of systems) {
    const probe = { url: sys.url, path: req.path, method: req.method, headers: { ...req.headers, ...sys.headers }, body: req.body ?? '' };
    await closedLoopCeiling(loadgen, probe, { durationS: seconds, connections: 64 }).catch(() => undefined);
  }
}

/**
 * Rounds of searches over every system, order rotated each round.
 * @param {import('./loadgen.mjs').Loadgen} loadgen
 * @param {import('./peers.mjs').System[]} systems
 * @param {import('./latency-rounds.mjs').Req} req
 * @param {ThroughputSettings} s
 * @param {(line: string) => void} log
 */
export async function throughputRounds(loadgen, systems, req, s, log) {
  /** @type {Record<string, { tool: string, rps: number, errors: number, firstError?: string }>} */
  const ceilings = {};
  /** @type {Record<string, any>[]} */
  const rounds = [];
  for (let r = 0; r < s.rounds; r++) {
    /** @type {Record<string, any>} */
    const row = {};
    for (const sys of rotated(systems, r)) {
      try {
        let plan;
        if (r === 0) {
          const c = await closedLoopCeiling(loadgen, { url: sys.url, path: req.path, method: req.method, headers: { ...req.headers, ...sys.headers }, body: req.body ?? '' }, { durationS: s.ceilingS, connections: 32 });
          ceilings[sys.name] = c;
          log(`  round 1/${s.rounds}  ${sys.name}: closed-loop ceiling (${c.tool}, 32 connections) ${Math.round(c.rps)} ok req/s, errors ${c.errors}${c.firstError ? ` (first: ${c.firstError})` : ''}`);
          plan = { start: Number.isFinite(c.rps) && c.rps > 0 ? c.rps * 0.6 : 1000, upFactor: 1.2, downFactor: 0.5, maxSteps: s.maxSteps };
        } else {
          const prior = median(rounds.map((x) => x[sys.name]?.maxRate));
          log(`  round ${r + 1}/${s.rounds}  ${sys.name}: refining around ${prior} req/s`);
          plan = { start: Number.isFinite(prior) && prior > 0 ? prior : 1000, upFactor: 1.1, downFactor: 0.85, maxSteps: s.refineSteps };
        }
        row[sys.name] = await searchMaxRate(loadgen, sys, req, s, plan, log);
      } catch (err) {
        row[sys.name] = { maxRate: NaN, p50: NaN, p99: NaN, steps: [], failure: /** @type {Error} */ (err).message.split('\n')[0] };
        log(`  ${sys.name}: FAILED ${row[sys.name].failure}`);
      }
    }
    rounds.push(row);
  }
  /** @type {Record<string, { maxRate: number, p50: number, p99: number, ceiling: number, ceilingTool: string, noisySteps: number, steps: number }>} */
  const summary = {};
  for (const sys of systems) {
    const mine = rounds.map((row) => row[sys.name]);
    summary[sys.name] = {
      maxRate: median(mine.map((x) => x.maxRate)),
      p50: median(mine.map((x) => x.p50)),
      p99: median(mine.map((x) => x.p99)),
      ceiling: ceilings[sys.name]?.rps ?? NaN,
      ceilingTool: ceilings[sys.name]?.tool ?? '—',
      noisySteps: mine.reduce((n, x) => n + (x.noisySteps ?? 0), 0),
      steps: mine.reduce((n, x) => n + x.steps.length, 0),
    };
  }
  return { rounds, ceilings, summary };
}
