/**
 * Several region simulators in one child process (`serve.mjs sim-regions`), for benches whose
 * upstreams must not share the gateway's or the load client's event loop. `regions` are
 * `RegionSimulator` options; `info.urls` maps each region name to its base URL.
 */
import { RegionSimulator } from '../../../dist/sim/index.js';

/** @param {{ regions: import('../../../dist/sim/index.js').RegionSimulatorOptions[] }} opts */
export async function start({ regions }) {
  const sims = regions.map((r) => new RegionSimulator(r));
  await Promise.all(sims.map((s) => s.start()));
  return {
    info: { urls: Object.fromEntries(sims.map((s) => [s.name, s.url])) },
    close: () => Promise.all(sims.map((s) => s.close())),
  };
}
