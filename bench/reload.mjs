/**
 * Config reloads under steady load: 8 clients send chat completions through a gateway over simulated
 * regions while the config file is rewritten and reloaded 20 times (each reload swaps two of four
 * endpoints). Prints the reload time (re-read, check, apply; p50 and max) and the client errors (0
 * expected). Standalone, from the build:
 *
 *   npm run build && node bench/reload.mjs
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadConfigFile } from '../dist/config/index.js';
import { createGateway } from '../dist/create-gateway.js';
import { RegionSimulator } from '../dist/sim/index.js';

const RELOADS = 20;
const CLIENTS = 8;
const sims = [];
for (let i = 0; i < 6; i++) {
  const s = new RegionSimulator({ name: `r${i}` });
  await s.start();
  sims.push(s);
}
const dir = mkdtempSync(join(tmpdir(), 'regiongate-bench-reload-'));
const file = join(dir, 'config.yaml');
/** @param {number[]} set */
const text = (set) =>
  [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { enabled: false }',
    'log: { level: silent }',
    'routing: { modelDiscovery: { interval: 0 } }',
    'regions:',
    ...set.map((i) => `  - { name: r${i}, endpoints: [{ url: "${sims[i].url}" }] }`),
    '',
  ].join('\n');
writeFileSync(file, text([0, 1, 2, 3]));
const gw = createGateway(loadConfigFile(file, {}), { configSource: () => loadConfigFile(file, {}) });
await gw.listen();
let stop = false;
let ok = 0;
let failed = 0;
const body = JSON.stringify({ model: 'm', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
const client = async () => {
  while (!stop) {
    const r = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await r.body.dump();
    if (r.statusCode === 200) ok++;
    else failed++;
  }
};
const load = Promise.all(Array.from({ length: CLIENTS }, client));
/** @type {number[]} */
const times = [];
for (let k = 0; k < RELOADS; k++) {
  writeFileSync(file, text(k % 2 === 0 ? [0, 1, 4, 5] : [0, 1, 2, 3]));
  const t0 = performance.now();
  await gw.reload();
  times.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 100));
}
stop = true;
await load;
times.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({ reloads: RELOADS, reloadP50Ms: +times[RELOADS >> 1].toFixed(2), reloadMaxMs: +times[RELOADS - 1].toFixed(2), requests: ok + failed, clientErrors: failed })}\n`,
);
await gw.close(0, 0);
for (const s of sims) await s.close();
rmSync(dir, { recursive: true, force: true });
