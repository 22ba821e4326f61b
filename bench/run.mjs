/**
 * `npm run bench`: every scenario in turn (or those named), results in bench/results/, the tables on
 * stdout at the end. `--quick` makes a smoke run of a few seconds per scenario.
 *
 *   node bench/run.mjs [--quick] [overhead throughput stream routing-cost] [--systems ...] [--cpu-prof]
 */
import { renderScenario, SCENARIOS, writeScenario } from './lib/results.mjs';
import { benchMain, runScenario } from './lib/scenario.mjs';
import { overhead } from './overhead.mjs';
import { routingCost } from './routing-cost.mjs';
import { stream } from './stream.mjs';
import { soak } from './soak.mjs';
import { throughput } from './throughput.mjs';

const RUNNERS = { overhead, throughput, stream, 'routing-cost': routingCost, soak };

await benchMain(async (args) => {
  const names = args.only.length ? args.only : SCENARIOS;
  const unknown = names.filter((n) => !(n in RUNNERS));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (one of ${Object.keys(RUNNERS).join(', ')})`);
  const started = Date.now();
  /** @type {string[]} */
  const rendered = [];
  for (const name of names) {
    const t0 = Date.now();
    process.stdout.write(`\n=== ${name}${args.quick ? ' (quick)' : ''} ===\n`);
    const result = await runScenario(RUNNERS[/** @type {keyof typeof RUNNERS} */ (name)], args);
    writeScenario(result);
    rendered.push(renderScenario(result));
    process.stdout.write(`=== ${name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s ===\n`);
  }
  process.stdout.write(`\n${rendered.join('\n')}\nAll scenarios done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in bench/results/ (RESULTS.md).\n`);
});
