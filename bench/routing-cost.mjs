/**
 * Scenario 4, the cost of routing state: scenarios 1 and 2 for regiongate alone, once with the bare
 * config (one region, one endpoint) and once with 3 regions × 10 endpoints, every endpoint a real
 * target port (nginx listening on 30 ports, or 30 node:http servers).
 *
 *   node bench/routing-cost.mjs [--quick] [--rounds N]
 */
import { CHAT, chatCheck } from './overhead.mjs';
import { throughputSettings } from './throughput.mjs';
import { latencyRounds, prime } from './lib/latency-rounds.mjs';
import { startLoadgen } from './lib/loadgen.mjs';
import { busyWarning } from './lib/machine.mjs';
import { startSystem, stopSystems } from './lib/peers.mjs';
import { cpuProfArgs, isMain, logger, runStandalone } from './lib/scenario.mjs';
import { int, ms, plusMs, ratio } from './lib/table.mjs';
import { startFastTarget } from './lib/targets.mjs';
import { primeHard, throughputRounds } from './lib/throughput-search.mjs';

const REGIONS = 3;
const ENDPOINTS_PER_REGION = 10;

/**
 * @param {import('./lib/args.mjs').BenchArgs} args
 * @param {import('./lib/machine.mjs').Machine} machine
 * @returns {Promise<import('./lib/results.mjs').ScenarioResult>}
 */
export async function routingCost(args, machine) {
  const log = logger('routing-cost');
  const latency = {
    rounds: args.rounds ?? (args.quick ? 1 : 3),
    rate: 100,
    connections: 1,
    warmupMs: args.quick ? 300 : 500,
    durationMs: args.quick ? 1000 : 2500,
  };
  const tput = throughputSettings(args.quick, args.rounds);
  const target = await startFastTarget({ ports: REGIONS * ENDPOINTS_PER_REGION, forceNode: args.nodeTarget });
  log(`target: ${target.kind} on ${target.urls.length} ports`);
  const loadgen = await startLoadgen();
  const loadPids = [loadgen.pid, target.pid];
  tput.loadPids = loadPids;
  const bigRegions = Array.from({ length: REGIONS }, (_, r) => ({
    name: `region-${r + 1}`,
    urls: target.urls.slice(r * ENDPOINTS_PER_REGION, (r + 1) * ENDPOINTS_PER_REGION),
  }));
  /** @type {import('./lib/peers.mjs').System[]} */
  const systems = [];
  try {
    const nodeArgs = args.cpuProf ? cpuProfArgs('routing-cost') : undefined;
    systems.push(await startSystem('direct', { target: target.url }));
    systems.push(await startSystem('regiongate', { target: target.url, label: 'regiongate-bare', nodeArgs }));
    systems.push(await startSystem('regiongate', { target: target.url, label: 'regiongate-3x10', regions: bigRegions, nodeArgs }));
    for (const s of systems) {
      const problem = await chatCheck(s);
      if (problem) throw new Error(`${s.name}: ${problem}`);
    }
    const gateways = systems.filter((s) => s.name !== 'direct');
    await prime(loadgen, systems, CHAT, { ms: args.quick ? 500 : 1500, rate: 1000 });
    log(`latency: ${latency.rounds} round(s) of ${latency.durationMs} ms at ${latency.rate} req/s`);
    const lat = await latencyRounds(loadgen, systems, CHAT, { ...latency, loadPids }, log);
    log(`throughput: ${tput.rounds} round(s)`);
    await primeHard(loadgen, gateways, CHAT, 2);
    const thr = await throughputRounds(loadgen, gateways, CHAT, tput, log);
    const bare = thr.summary['regiongate-bare']?.maxRate;
    const endpoints = { direct: 1, 'regiongate-bare': 1, 'regiongate-3x10': REGIONS * ENDPOINTS_PER_REGION };
    const rows = systems.map((s) => {
      const l = lat.summary[s.name];
      const t = thr.summary[s.name];
      const isDirect = s.name === 'direct';
      return [
        s.name,
        String(endpoints[/** @type {keyof typeof endpoints} */ (s.name)]),
        ms(l.p50),
        ms(l.p99),
        isDirect ? '—' : plusMs(l.addedP50),
        isDirect ? '—' : plusMs(l.addedP99),
        isDirect ? '—' : int(t?.maxRate),
        isDirect ? '—' : ms(t?.p99),
        isDirect ? '—' : ratio(t?.maxRate, bare),
      ];
    });
    return {
      scenario: 'routing-cost',
      machine,
      quick: args.quick,
      settings: { latency, throughput: tput, target: target.kind, regions: REGIONS, endpointsPerRegion: ENDPOINTS_PER_REGION },
      skipped: [],
      tables: [
        {
          title: `Routing cost: 1 endpoint vs ${REGIONS} regions × ${ENDPOINTS_PER_REGION} endpoints (latency in ms)`,
          headers: ['config', 'endpoints', 'p50 @c1', 'p99 @c1', 'added p50', 'added p99', `max req/s (p99 ≤ ${tput.p99LimitMs} ms)`, 'p99 at max', 'vs bare'],
          rows,
          notes: [
            `Latency as in the overhead scenario (${latency.rate} req/s over 1 connection, ${latency.rounds} round(s)); throughput as in the throughput scenario (${tput.rounds} round(s)). Each endpoint is its own target port (${target.kind}).`,
            `Noisy (still disturbed by other processes after re-runs, see README): latency rounds ${systems.map((s) => `${s.name} ${lat.summary[s.name].noisyRounds}/${latency.rounds}`).join(', ')}; throughput steps ${gateways.map((s) => `${s.name} ${thr.summary[s.name].noisySteps}/${thr.summary[s.name].steps}`).join(', ')}.`,
            'Health and breaker tracking come with createGateway as they land in src/; this scenario exercises whatever createGateway wires for that config.',
            ...[busyWarning(machine)].filter((x) => x !== undefined),
          ],
        },
      ],
      raw: { latency: lat, throughput: thr },
    };
  } finally {
    await stopSystems(systems);
    await loadgen.stop();
    await target.stop();
  }
}

if (isMain(import.meta.url)) await runStandalone(routingCost);
