#!/usr/bin/env node
/**
 * Renders the dashboard of a demo fleet under load to docs/images/dashboard.png, then starts a real
 * `regiongate drill` of one region and renders docs/images/dashboard-drill.png while it runs.
 *
 *   npm run build && node docs/screenshots.mjs
 *
 * The fleet: two gateways in one process sharing a MemoryBus, four simulated regions of three providers
 * (one serving vLLM-format load signals with a small capacity, so the signals show), and eight clients
 * sending one request at a time. Needs Chromium (`apt-get install chromium`, or CHROMIUM_PATH).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createGateway, resolveConfig } from '../dist/index.js';
import { RegionSimulator } from '../dist/sim/region-simulator.js';
import { MemoryBus } from '../dist/state/memory-store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'screenshot-token-0123456789abcdef';
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 45_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const regions = [
  { name: 'us-east-1', provider: 'aws', latencyMs: 18 },
  { name: 'eu-west-1', provider: 'aws', latencyMs: 30 },
  { name: 'europe-west4', provider: 'gcp', latencyMs: 25, capacity: 6, load: true },
  { name: 'lab-rack-2', provider: 'onprem', latencyMs: 70 },
];
const sims = [];
for (const r of regions) {
  const sim = new RegionSimulator({ name: r.name, provider: r.provider, latencyMs: r.latencyMs, capacity: r.capacity, tokens: 8 });
  await sim.start();
  sims.push(sim);
}
const bus = new MemoryBus();
const gateways = [];
for (const id of ['gw-fra-1', 'gw-iad-1']) {
  const config = resolveConfig(
    {
      gatewayId: id,
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0, token: TOKEN },
      log: { level: 'silent', access: false },
      state: { summaryInterval: 400 },
      routing: { modelDiscovery: { interval: 0 } },
      regions: regions.map((r, i) => ({
        name: r.name,
        provider: r.provider,
        endpoints: [{ url: sims[i].url, models: ['*'], ...(r.load && { loadSignals: { engine: 'vllm' } }) }],
      })),
    },
    {},
  );
  const gw = createGateway(config, { bus });
  await gw.listen();
  gateways.push(gw);
}

let running = true;
const clients = [];
for (let i = 0; i < 8; i++) {
  const gw = gateways[i % 2];
  clients.push(
    (async () => {
      while (running) {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] }),
        }).catch(() => undefined);
        await res?.arrayBuffer().catch(() => undefined);
      }
    })(),
  );
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1250 } });
  const admin = gateways[0].admin.url;
  await page.goto(`${admin}/#token=${TOKEN}`);
  console.error(`letting the fleet run ${SETTLE_MS / 1000} s for the chart's history`);
  await sleep(SETTLE_MS);
  await page.screenshot({ path: `${ROOT}docs/images/dashboard.png`, fullPage: true });
  console.error('wrote docs/images/dashboard.png');

  const drill = spawn(process.execPath, [`${ROOT}dist/cli.js`, 'drill', '--admin', admin, '--token', TOKEN, '--region', 'us-east-1', '--duration', '30s'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const drillExit = new Promise((resolve) => drill.on('exit', resolve));
  await sleep(20_000);
  await page.screenshot({ path: `${ROOT}docs/images/dashboard-drill.png`, fullPage: true });
  console.error('wrote docs/images/dashboard-drill.png');
  console.error(`drill exited ${await drillExit}`);
} finally {
  running = false;
  await Promise.all(clients);
  await browser.close();
  await Promise.all(gateways.map((g) => g.close(0, 0)));
  await Promise.all(sims.map((s) => s.close()));
}
