/**
 * Scenario 2, max throughput: the highest constant rate each system sustains with p99 <= 10 ms and
 * zero errors, the system on one core; regiongate's figure as a ratio to each peer's.
 *
 *   node bench/throughput.mjs [--quick] [--rounds N] [--systems regiongate,nginx]
 */
import { CHAT, chatCheck } from './overhead.mjs';
import { pickSystems } from './lib/args.mjs';
import { prime } from './lib/latency-rounds.mjs';
import { startLoadgen } from './lib/loadgen.mjs';
import { busyWarning } from './lib/machine.mjs';
import { ALL_SYSTEMS, startSystems, stopSystems } from './lib/peers.mjs';
import { summarizeProfiles } from './lib/profile-summary.mjs';
import { cpuProfArgs, isMain, logger, PROF_DIR, runStandalone } from './lib/scenario.mjs';
import { int, ms, ratio } from './lib/table.mjs';
import { startFastTarget } from './lib/targets.mjs';
import { primeHard, throughputRounds } from './lib/throughput-search.mjs';

/** A system reaching this share of direct's figure is limited by the harness. */
const HARNESS_SHARE = 0.85;

/** @param {boolean} quick @param {number | undefined} rounds */
export function throughputSettings(quick, rounds) {
  return {
    rounds: rounds ?? (quick ? 1 : 3),
    p99LimitMs: 10,
    warmupMs: quick ? 150 : 300,
    durationMs: quick ? 400 : 1000,
    connections: 64,
    maxSteps: quick ? 5 : 8,
    refineSteps: 3,
    resolution: 0.05,
    ceilingS: 1,
    timeoutMs: 2000,
    /** @type {number[]} */
    loadPids: [],
  };
}

/**
 * @param {import('./lib/args.mjs').BenchArgs} args
 * @param {import('./lib/machine.mjs').Machine} machine
 * @returns {Promise<import('./lib/results.mjs').ScenarioResult>}
 */
export async function throughput(args, machine) {
  const log = logger('throughput');
  const settings = throughputSettings(args.quick, args.rounds);
  const profileStart = Date.now();
  const target = await startFastTarget({ forceNode: args.nodeTarget });
  log(`target: ${target.kind} at ${target.url} (fixed 1 KB JSON)`);
  const loadgen = await startLoadgen();
  settings.loadPids = [loadgen.pid, target.pid];
  const { systems, skipped } = await startSystems(
    pickSystems(ALL_SYSTEMS, args.systems),
    { target: target.url, nodeArgs: args.cpuProf ? cpuProfArgs('throughput') : undefined },
    chatCheck,
  );
  try {
    log(`systems: ${systems.map((s) => s.name).join(', ')}; ${settings.rounds} round(s), steps of ${settings.durationMs} ms, ${settings.connections} connections`);
    await prime(loadgen, systems, CHAT, { ms: args.quick ? 500 : 1000, rate: 1000 });
    await primeHard(loadgen, systems, CHAT, 2);
    const { rounds, ceilings, summary } = await throughputRounds(loadgen, systems, CHAT, settings, log);
    await stopSystems(systems);
    const profile = args.cpuProf ? summarizeProfiles(PROF_DIR, profileStart) : undefined;
    const rg = summary.regiongate?.maxRate;
    // Within 15 % of direct, the harness (load generator and target on core 0) is the limit, not the system.
    const harnessBound = (/** @type {string} */ name) => name !== 'direct' && summary[name].maxRate >= HARNESS_SHARE * summary.direct.maxRate;
    const rows = systems.map((s) => {
      const x = summary[s.name];
      const capped = s.name === 'direct' || harnessBound(s.name);
      return [`${s.name}${capped ? ' ⁽ʰ⁾' : ''}`, `${capped ? '≥ ' : ''}${int(x.maxRate)}`, ms(x.p50), ms(x.p99), int(x.ceiling), s.name === 'regiongate' ? '1.00×' : ratio(rg, x.maxRate), `${x.noisySteps}/${x.steps}`];
    });
    return {
      scenario: 'throughput',
      machine,
      quick: args.quick,
      settings: { ...settings, target: target.kind },
      skipped,
      tables: [
        {
          title: `Max throughput with p99 ≤ ${settings.p99LimitMs} ms and zero errors (system on one core)`,
          headers: ['system', 'max req/s', 'p50 at max', 'p99 at max', 'closed-loop ceiling', 'regiongate ÷ system', 'noisy steps'],
          rows,
          notes: [
            `Open-loop constant rate, ${settings.connections} keep-alive client connections, steps of ${settings.durationMs} ms after ${settings.warmupMs} ms warm-up; round 1 starts at 0.6 × the closed-loop ceiling (${ceilings.direct?.tool ?? 'wrk/autocannon'}, 32 connections, ${settings.ceilingS} s) and brackets to ${settings.resolution * 100} %, later rounds refine around it. Median of ${settings.rounds} round(s).`,
            'A step disturbed by other processes (load generator late, or the system core used by others) is re-run (up to 2 times, 4 per search); noisy steps: those still disturbed / all steps.',
            `⁽ʰ⁾ / ≥: bounded by the harness, not by the system: \`direct\` is the load generator and the target sharing core 0, and a system within ${Math.round((1 - HARNESS_SHARE) * 100)} % of it may sustain more than shown. "regiongate ÷ system" above 1 means regiongate sustains more.`,
            ...[busyWarning(machine)].filter((x) => x !== undefined),
          ],
        },
        ...(profile ? [profile.table] : []),
      ],
      raw: { rounds, ceilings, summary, profile: profile?.raw },
    };
  } finally {
    await stopSystems(systems);
    await loadgen.stop();
    await target.stop();
  }
}

if (isMain(import.meta.url)) await runStandalone(throughput);
