/**
 * What every scenario script shares: running standalone (`node bench/overhead.mjs --quick`), the
 * orchestrator pinned to the load core, the dist check, children stopped at the end whatever happens,
 * results written and printed.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';
import { CORES, canPin, installExitHooks, pinSelf, stopAll } from './children.mjs';
import { ensureBenchDeps } from './ensure-deps.mjs';
import { machineNow } from './machine.mjs';
import { netCounters, netDelta } from './proc-stats.mjs';
import { renderScenario, RESULTS_DIR, writeScenario } from './results.mjs';

const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
export const PROF_DIR = resolve(RESULTS_DIR, 'prof');

/** True when `metaUrl` is the script node was started with. */
export function isMain(/** @type {string} */ metaUrl) {
  return process.argv[1] !== undefined && fileURLToPath(metaUrl) === resolve(process.argv[1]);
}

/** Common set-up: exit hooks, the bench's own dependencies, pinning, the compiled gateway. */
export function prepare() {
  installExitHooks();
  if (!existsSync(DIST)) throw new Error('dist/index.js is missing: run `npm run build` first (npm run bench does)');
  ensureBenchDeps();
  const pinned = pinSelf(CORES.load);
  if (!canPin) process.stdout.write('note: taskset unavailable or < 2 cores: processes are not pinned\n');
  return { pinned };
}

/** Node flags that make regiongate write a CPU profile into bench/results/prof/ on exit. */
export function cpuProfArgs(/** @type {string} */ scenario) {
  mkdirSync(PROF_DIR, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`, `--cpu-prof-name=regiongate-${scenario}-${Date.now()}.cpuprofile`];
}

/** A logger prefixing lines with the scenario's name. */
export function logger(/** @type {string} */ scenario) {
  return (/** @type {string} */ line) => process.stdout.write(`[${scenario}] ${line}\n`);
}

/**
 * Run one scenario on a machine sample taken now (after waiting for quiet if asked), and note the
 * machine-wide network trouble counters of its run in its first table.
 * @param {(args: import('./args.mjs').BenchArgs, machine: import('./machine.mjs').Machine) => Promise<import('./results.mjs').ScenarioResult>} fn
 * @param {import('./args.mjs').BenchArgs} args
 */
export async function runScenario(fn, args) {
  const machine = await machineNow(args.waitIdle);
  const before = netCounters();
  const result = await fn(args, machine);
  const net = netDelta(before, netCounters());
  result.network = net;
  if (Number.isFinite(net.retransSegs)) {
    result.tables[0]?.notes?.push(
      `Machine-wide during the scenario: ${net.retransSegs} TCP segments retransmitted, ${net.backlogDrops} packets dropped by a full input backlog, ${net.listenOverflows} SYNs dropped by full accept queues (each loopback drop costs a 200 ms+ retransmission; non-zero counts explain outliers).`,
    );
  }
  return result;
}

/**
 * The body of a bench entry script: on failure print the stack and exit 1; either way stop every
 * child process first.
 * @param {(args: import('./args.mjs').BenchArgs) => Promise<void>} body
 */
export async function benchMain(body) {
  let code = 0;
  try {
    const args = benchArgs();
    prepare();
    await body(args);
  } catch (err) {
    process.stderr.write(`bench: ${/** @type {Error} */ (err).stack ?? err}\n`);
    code = 1;
  } finally {
    await stopAll();
  }
  process.exit(code);
}

/**
 * Run one scenario function standalone: args, results file, tables on stdout, children stopped.
 * @param {(args: import('./args.mjs').BenchArgs, machine: import('./machine.mjs').Machine) => Promise<import('./results.mjs').ScenarioResult>} fn
 */
export function runStandalone(fn) {
  return benchMain(async (args) => {
    const result = await runScenario(fn, args);
    writeScenario(result);
    process.stdout.write(`\n${renderScenario(result)}\n`);
  });
}
