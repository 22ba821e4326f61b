/**
 * Scenario 1, overhead at concurrency 1: a 1 KB JSON POST to /v1/chat/completions at constant
 * rates (100 and 1,000 req/s) over one keep-alive connection; per system p50/p99 latency and what it adds over direct.
 *
 *   node bench/overhead.mjs [--quick] [--rounds N] [--rates 100,1000] [--systems regiongate,nginx] [--cpu-prof]
 */
import { pickSystems } from './lib/args.mjs';
import { latencyRounds, prime } from './lib/latency-rounds.mjs';
import { busyWarning } from './lib/machine.mjs';
import { CHAT_PATH, CHAT_REQUEST, CHAT_RESPONSE, JSON_HEADERS } from './lib/payloads.mjs';
import { ALL_SYSTEMS, smokeCheck, startSystems, stopSystems } from './lib/peers.mjs';
import { summarizeProfiles } from './lib/profile-summary.mjs';
import { cpuProfArgs, isMain, logger, PROF_DIR, runStandalone } from './lib/scenario.mjs';
import { int, ms, plusMs } from './lib/table.mjs';
import { startFastTarget } from './lib/targets.mjs';
import { startLoadgen } from './lib/loadgen.mjs';

/** The request of scenarios 1, 2 and 4. */
export const CHAT = Object.freeze({ path: CHAT_PATH, method: /** @type {const} */ ('POST'), headers: { ...JSON_HEADERS }, body: CHAT_REQUEST });

/** Smoke check of a system in front of the fast target. */
export const chatCheck = (/** @type {import('./lib/peers.mjs').System} */ s) => smokeCheck(s, { ...CHAT, expectBytes: CHAT_RESPONSE.length });

/**
 * @param {import('./lib/args.mjs').BenchArgs} args
 * @param {import('./lib/machine.mjs').Machine} machine
 * @returns {Promise<import('./lib/results.mjs').ScenarioResult>}
 */
export async function overhead(args, machine) {
  const log = logger('overhead');
  const base = {
    rounds: args.rounds ?? (args.quick ? 1 : 5),
    connections: 1,
    warmupMs: args.quick ? 300 : 500,
    durationMs: args.quick ? 1000 : 2500,
  };
  // Two paces: at 100 req/s every process sleeps ~10 ms between requests and each one starts from an
  // idle core and cold caches; at 1,000 req/s they stay warm. The gap between the two is the wake-up
  // cost every Node process here pays, apart from what each system does per request.
  const rates = args.rates ?? [100, 1000];
  const profileStart = Date.now();
  const target = await startFastTarget({ forceNode: args.nodeTarget });
  log(`target: ${target.kind} at ${target.url} (fixed 1 KB JSON)`);
  const loadgen = await startLoadgen();
  const loadPids = [loadgen.pid, target.pid];
  const { systems, skipped } = await startSystems(
    pickSystems(ALL_SYSTEMS, args.systems),
    { target: target.url, nodeArgs: args.cpuProf ? cpuProfArgs('overhead') : undefined },
    chatCheck,
  );
  try {
    log(`systems: ${systems.map((s) => s.name).join(', ')}; ${base.rounds} round(s) of ${base.durationMs} ms at ${rates.join(' and ')} req/s`);
    await prime(loadgen, systems, CHAT, { ms: args.quick ? 500 : 1500, rate: 1000 });
    /** @type {Record<string, unknown>} */
    const raw = {};
    const tables = [];
    for (const rate of rates) {
      const settings = { ...base, rate };
      const { rounds, summary } = await latencyRounds(loadgen, systems, CHAT, { ...settings, loadPids }, log);
      raw[`rate${rate}`] = { rounds, summary };
      const rows = systems.map((s) => {
        const x = summary[s.name];
        return [s.name, ms(x.p50), ms(x.p99), s.name === 'direct' ? '—' : plusMs(x.addedP50), s.name === 'direct' ? '—' : plusMs(x.addedP99), int(x.requests), int(x.errors), `${x.noisyRounds}/${settings.rounds}`];
      });
      tables.push({
        title: `Overhead at concurrency 1, ${int(rate)} req/s (latency in ms)`,
        headers: ['system', 'p50', 'p99', 'added p50', 'added p99', 'requests', 'errors', 'noisy'],
        rows,
        notes: [
          `POST ${CHAT_PATH} with a 1 KB JSON body; the target (${target.kind}) answers a fixed 1 KB JSON.`,
          `${int(rate)} req/s constant rate over 1 keep-alive connection, ${settings.durationMs} ms measured after ${settings.warmupMs} ms warm-up, ${settings.rounds} interleaved round(s); latency from the scheduled send time.`,
          'Medians over rounds; "added" = system − direct in the same round. noisy: rounds still disturbed by other processes after one re-run (see README).',
          'undici-minimal: a bare proxy on Node + undici (buffered body, one Pool, no rules, no timers, no routing), the floor under regiongate.',
          ...[busyWarning(machine)].filter((x) => x !== undefined),
        ],
      });
    }
    await stopSystems(systems);
    const profile = args.cpuProf ? summarizeProfiles(PROF_DIR, profileStart) : undefined;
    return {
      scenario: 'overhead',
      machine,
      quick: args.quick,
      settings: { ...base, rates, target: target.kind, request: `POST ${CHAT_PATH}, 1 KB JSON`, response: '1 KB JSON' },
      skipped,
      tables: [...tables, ...(profile ? [profile.table] : [])],
      raw: { ...raw, profile: profile?.raw },
    };
  } finally {
    await stopSystems(systems);
    await loadgen.stop();
    await target.stop();
  }
}

if (isMain(import.meta.url)) await runStandalone(overhead);
