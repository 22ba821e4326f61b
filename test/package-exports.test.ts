// The package's entry points, as a user imports them by name (Node's self-reference through "exports"):
// the gateway from `regiongate`, the simulator from `regiongate/sim` only.
import t from 'tap';
import { built } from './helpers/built.js';

// Named by a variable: the import resolves the built package at run time, not the sources at typecheck.
const load = (specifier: string): Promise<Record<string, unknown>> => import(specifier) as Promise<Record<string, unknown>>;

t.test('regiongate: the gateway, without the simulator', async (t) => {
  built('index.js');
  const main = await load('regiongate');
  t.type(main.createGateway, 'function');
  t.type(main.resolveConfig, 'function');
  for (const name of ['RegionSimulator', 'SimControl', 'startSimFleet', 'DEMO_REGIONS']) t.notOk(name in main, `${name} is not on the main entry`);
});

t.test('regiongate/sim: the simulator', async (t) => {
  built('sim/index.js');
  const sim = await load('regiongate/sim');
  t.type(sim.RegionSimulator, 'function');
  t.type(sim.SimControl, 'function');
  t.type(sim.startSimFleet, 'function');
  t.ok(Array.isArray(sim.DEMO_REGIONS));
});
