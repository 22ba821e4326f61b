/**
 * Command-line flags shared by every scenario script and `run.mjs`.
 */
import { parseArgs } from 'node:util';

/**
 * @typedef {object} BenchArgs
 * @property {boolean} quick      a smoke run of a few seconds per scenario
 * @property {number | undefined} rounds  rounds per scenario (default: the scenario's own)
 * @property {string[] | undefined} systems  only these systems (default: all)
 * @property {boolean} cpuProf    run regiongate with --cpu-prof (profiles in bench/results/prof/)
 * @property {boolean} nodeTarget use the node:http fast target even when nginx is installed
 * @property {number[] | undefined} streams  concurrent-stream levels of the stream scenario
 * @property {number[] | undefined} rates  request rates of the overhead scenario
 * @property {number | undefined} holdInterval  frame pace (ms) of the held streams
 * @property {number} waitIdle   seconds to wait for a quiet machine before each scenario
 * @property {string[]} only      run.mjs: only these scenarios
 */

/** @returns {BenchArgs} */
export function benchArgs(argv = process.argv.slice(2)) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      systems: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'node-target': { type: 'boolean', default: false },
      streams: { type: 'string' },
      rates: { type: 'string' },
      'hold-interval': { type: 'string' },
      'wait-idle': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`flags: --quick  --rounds N  --systems a,b,c  --cpu-prof  --node-target
       --rates 100,1000  --streams 1000,5000,10000  --hold-interval MS  --wait-idle S   (run.mjs: scenario names as arguments)\n`);
    process.exit(0);
  }
  const list = (/** @type {string | undefined} */ s) => s?.split(',').map((x) => x.trim()).filter(Boolean);
  const num = (/** @type {string | undefined} */ s, /** @type {string} */ flag) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got "${s}"`);
    return n;
  };
  return {
    quick: values.quick ?? false,
    rounds: num(values.rounds, '--rounds'),
    systems: list(values.systems),
    cpuProf: values['cpu-prof'] ?? false,
    nodeTarget: values['node-target'] ?? false,
    streams: list(values.streams)?.map((s) => /** @type {number} */ (num(s, '--streams'))),
    rates: list(values.rates)?.map((s) => /** @type {number} */ (num(s, '--rates'))),
    holdInterval: num(values['hold-interval'], '--hold-interval'),
    waitIdle: values['wait-idle'] === '0' ? 0 : (num(values['wait-idle'], '--wait-idle') ?? (values.quick ? 0 : 3)),
    only: positionals,
  };
}

/**
 * The systems to run: `wanted` (all by default) in canonical order, `direct` always first.
 * @param {readonly string[]} all
 * @param {string[] | undefined} wanted
 */
export function pickSystems(all, wanted) {
  const set = new Set(wanted ?? all);
  set.add('direct');
  return all.filter((s) => set.has(s));
}

/**
 * The order of round `r`: the list rotated by `r`, so no system always runs first or last.
 * @template T
 * @param {readonly T[]} list
 * @param {number} r
 */
export function rotated(list, r) {
  const k = r % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}
