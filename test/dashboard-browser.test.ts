/**
 * The dashboard in a real browser (headless Chromium through playwright-core): gateway A's page of a
 * two-gateway fleet (one in-process MemoryBus, simulated regions, steady bounded client load through both
 * gateways) shows both gateways, drains a region through its button, and shows that region's traffic
 * share fall to 0 %; a second drain that would strand the model asks first and goes through with force.
 * A fault drill started from the form runs on the gateway (`POST /admin/drills/run`), its fault is listed
 * while it lasts, and its record reaches its verdict on the page. A missing or wrong token is said
 * plainly. What other gateways publish is shown as text, never markup; load signals show the prediction
 * and who read them.
 * Every wait is on the page's DOM or the gateway's state, bounded by `EVENT_BOUND_MS`.
 */
import t from 'tap';
import { request } from 'undici';
import { AdminServer, type AdminTarget } from '../src/admin/admin-server.js';
import type { RunningGateway } from '../src/create-gateway.js';
import { MemoryBus } from '../src/state/memory-store.js';
import { launchChromium } from './helpers/browser.js';
import { startGateway, startSim, type Teardown } from './helpers/gateway.js';
import { EVENT_BOUND_MS, until } from './helpers/wait.js';

const TOKEN = 'dashboard-browser-token-0123456789';

async function fleet(t: Teardown) {
  const a = await startSim(t, { name: 'a', latencyMs: 5 });
  const b = await startSim(t, { name: 'b', latencyMs: 5 });
  const regions = [{ name: 'a', url: a.url }, { name: 'b', url: b.url }];
  const bus = new MemoryBus();
  // A short summary interval: a share sample every 5 intervals (1 s here).
  const cfg = (id: string) => ({
    gatewayId: id,
    health: { probes: false },
    state: { summaryInterval: 200 },
    admin: { host: '127.0.0.1', port: 0, enabled: true, token: TOKEN },
  });
  const g1 = await startGateway(t, regions, cfg('gw-one'), { bus });
  const g2 = await startGateway(t, regions, cfg('gw-two'), { bus });
  return { g1, g2 };
}

/** Two clients, one per gateway, each one request at a time, until stopped. */
function steadyLoad(gateways: RunningGateway[]) {
  let running = true;
  let answered = 0;
  const loops = gateways.map(async (gw) => {
    while (running) {
      const res = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"model":"m","messages":[]}',
      }).catch(() => undefined);
      await res?.body.dump();
      answered++;
    }
  });
  return {
    get answered() {
      return answered;
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const drained = (gw: RunningGateway, id: string) => gw.health.state(gw.registry.endpoint(id)!) === 'drained';

t.test('gateway A\'s page shows the fleet, drains a region, and its share falls to 0 %', async (t) => {
  const browser = await launchChromium(t);
  const { g1, g2 } = await fleet(t);
  const load = steadyLoad([g1, g2]);
  t.teardown(() => load.stop());
  const page = await browser.newPage();
  page.setDefaultTimeout(EVENT_BOUND_MS);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${g1.admin!.url}/#token=${TOKEN}`);

  await page.locator('[data-gateway="gw-one"]').waitFor();
  await page.locator('[data-gateway="gw-two"]').waitFor();
  t.pass('both gateways are on gateway A\'s page');
  const shareOfA = page.locator('[data-share="a"]');
  // Traffic reaches a before the drain (a share sample with some of it).
  // Locators, not waitForFunction: the page's CSP forbids the eval that a string predicate needs.
  await shareOfA.filter({ hasText: /^[1-9][0-9]*%$/ }).waitFor();
  t.pass(`region a's share before the drain: ${await shareOfA.textContent()}`);

  await page.locator('button[data-scope="regions"][data-name="a"][data-action="drain"]').click();
  await until('a-0 drained on both gateways', () => drained(g1, 'a-0') && drained(g2, 'a-0'));
  await shareOfA.filter({ hasText: /^0%$/ }).waitFor();
  t.equal(await shareOfA.textContent(), '0%', 'the drained region\'s share fell to 0 %');
  t.equal(await page.locator('[data-share="b"]').textContent(), '100%', 'b takes it all');
  await page.locator('button[data-scope="regions"][data-name="a"][data-action="undrain"]').waitFor();
  t.match(await page.locator('#timeline').textContent(), /drain by operator/, 'the drain is on the timeline');
  t.ok(load.answered > 0);
  await load.stop();

  // Draining b too would leave model "m" with no endpoint: the page asks, and forces only once confirmed.
  const asked: string[] = [];
  page.once('dialog', (d) => {
    asked.push(d.message());
    void d.accept();
  });
  await page.locator('button[data-scope="regions"][data-name="b"][data-action="drain"]').click();
  await until('b-0 drained with force', () => drained(g1, 'b-0'));
  t.match(asked[0], /no routable endpoint.*Do it anyway\?/, 'the 409 was confirmed with the operator');
  t.same(errors, [], 'no script errors on the page');
});

t.test('an endpoint ejected on the other gateway has an uneject button, which puts it back on both', async (t) => {
  const browser = await launchChromium(t);
  const { g1, g2 } = await fleet(t);
  const stateOf = (gw: RunningGateway, id: string) => gw.health.state(gw.registry.endpoint(id)!);
  const page = await browser.newPage();
  page.setDefaultTimeout(EVENT_BOUND_MS);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${g1.admin!.url}/#token=${TOKEN}`);
  await page.locator('[data-gateway="gw-two"]').waitFor();
  // Both gateways saw a-0 fail (each its own ejection, each reporting it to the other).
  for (const g of [g1, g2]) g.health.eject(g.registry.endpoint('a-0')!, 'consecutive_5xx', Date.now() + 600_000);
  const uneject = page.locator('button[data-scope="endpoints"][data-name="a-0"][data-action="uneject"]');
  await uneject.click();
  await until('a-0 back in rotation on both gateways', () => stateOf(g1, 'a-0') !== 'ejected' && stateOf(g2, 'a-0') !== 'ejected');
  await uneject.waitFor({ state: 'detached' });
  t.not(stateOf(g2, 'a-0'), 'ejected', 'the other gateway ended its own ejection too');
  t.same(errors, [], 'no script errors on the page');
});

t.test('a fault drill started from the form runs on the gateway, shows its fault, and keeps its record', async (t) => {
  const browser = await launchChromium(t);
  const { g1, g2 } = await fleet(t);
  const page = await browser.newPage();
  page.setDefaultTimeout(EVENT_BOUND_MS);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${g1.admin!.url}/#token=${TOKEN}`);
  await page.locator('#drill-region option[value="a"]').waitFor({ state: 'attached' });
  t.ok(await page.locator('#drill-fault-fields').isHidden(), 'fault fields hidden in drain mode');
  await page.selectOption('#drill-region', 'a');
  await page.selectOption('#drill-mode', 'fault');
  await page.selectOption('#drill-fault', 'slow');
  await page.fill('#drill-percent', '20');
  await page.fill('#drill-delay', '50');
  await page.fill('#drill-seconds', '2');
  await page.locator('#drill-form button[type="submit"]').click();
  await page.locator('#drill-result').filter({ hasText: /started as drill-a-\d+/ }).waitFor();
  const id = /started as (drill-a-\d+)/.exec((await page.locator('#drill-result').textContent()) ?? '')![1];
  // The fault is applied fleet-wide, and the page lists it while it lasts.
  const onG2 = (await (await request(`${g2.admin!.url}/admin/state`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.json()) as { faults: unknown[] };
  t.match(onG2.faults, [{ endpointId: 'a-0', spec: { kind: 'slow', percent: 20, delayMs: 50 } }], 'the other gateway injects it too');
  await page.locator('#faults tr[data-fault="a-0"]').filter({ hasText: /slow 50 ms · 20%/ }).waitFor();
  // Its record: running, then its verdict, origin admin (the drill ran on gateway A, not in the page).
  await page.locator(`#drills tr[data-drill="${id}"][data-status="pass"]`).waitFor();
  t.match(await page.locator(`#drills tr[data-drill="${id}"]`).textContent(), /fault slow 50 ms · 20% \(admin\)/);
  await page.locator('#faults').filter({ hasText: /no active faults/ }).waitFor();
  t.pass('the fault ended with the drill');
  t.same(errors, [], 'no script errors on the page');
});

t.test('a missing or wrong token is said plainly', async (t) => {
  const browser = await launchChromium(t);
  const sim = await startSim(t, { name: 'a' });
  const gw = await startGateway(t, [{ name: 'a', url: sim.url }], { health: { probes: false }, admin: { host: '127.0.0.1', port: 0, enabled: true, token: TOKEN } });
  const page = await browser.newPage();
  page.setDefaultTimeout(EVENT_BOUND_MS);
  const answer = await page.goto(`${gw.admin!.url}/`);
  t.match(answer?.headers()['content-security-policy'], /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/, 'the page runs under a strict CSP');
  await page.locator('#problem:not([hidden])').waitFor();
  t.match(await page.locator('#problem').textContent(), /^admin token required: open http:\/\/127\.0\.0\.1:\d+\/#token=…/);
  await page.goto(`${gw.admin!.url}/admin/dashboard#token=not-the-token-0123456789`);
  await page.reload();
  await page.locator('#problem').filter({ hasText: /admin token wrong/ }).waitFor();
  t.match(await page.locator('#problem').textContent(), /^admin token wrong \(401\): open .*\/admin\/dashboard#token=…/);
  t.notMatch(await page.locator('body').textContent(), /TypeError/);
});

t.test('what other gateways publish is shown as text, never as markup', async (t) => {
  const browser = await launchChromium(t);
  const nasty = '<img src=x onerror="window.pwned=1">';
  const state = {
    gatewayId: nasty,
    draining: false,
    inflight: 0,
    store: { store: 'memory' },
    retryBudget: 1,
    endpoints: [
      { region: 'r', id: 'e"1', state: 'ejected', cause: nasty, ewmaMs: 1, inflight: 0 },
      {
        region: 'r',
        id: 'e2',
        state: 'healthy',
        ewmaMs: 1,
        inflight: 0,
        score: 4,
        loadSignals: { engine: 'vllm', ageMs: 10, fresh: true, saturated: false, total: { waiting: 1, running: 2, kv: 0.5 }, predicted: { waiting: 2.5, running: 3, kv: 0.5 }, source: nasty, owner: null },
      },
    ],
  };
  const target: AdminTarget = {
    state: () => state,
    dashboard: () => ({
      state,
      fleet: { intervalMs: 1000, stale: false, gateways: [{ gatewayId: nasty, self: false, lastHeardMsAgo: 10, requests: 1, clientErrors: 0, inflight: 0, p50Ms: 1, p99Ms: 2, regions: [] }] },
      providers: { r: nasty },
      drills: [{ id: 'd1', region: nasty, status: 'pass', startedAt: 1 }],
      timeline: [{ at: 1, kind: 'transition', subject: nasty, text: nasty }],
      shares: [{ at: 1, regions: { r: { attempts: 1, errors: 0 } } }, { at: 2, regions: { r: { attempts: 1, errors: 0 } } }],
    }),
    metrics: () => '',
    act: () => [],
  };
  const admin = new AdminServer(target, { host: '127.0.0.1' });
  await admin.listen(0, '127.0.0.1');
  t.teardown(() => admin.close());
  const page = await browser.newPage();
  page.setDefaultTimeout(EVENT_BOUND_MS);
  await page.goto(`${admin.url}/`);
  await page.locator('[data-endpoint="e\\"1"]').waitFor();
  await page.locator('#timeline li').waitFor();
  t.equal(await page.locator('img').count(), 0, 'no element from the data reaches the page');
  t.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined, 'no handler from the data ran');
  t.match(await page.locator('[data-endpoint="e\\"1"]').textContent(), nasty, 'the cause is shown as text');
  t.match(await page.locator('#timeline').textContent(), nasty);
  t.match(await page.locator('#gateways').textContent(), nasty);
  // Load signals: what the endpoint reported, the gateway's prediction, and who read it (here another gateway's id).
  t.match(await page.locator('[data-endpoint="e2"]').textContent(), `waiting 1 · running 2 · KV 50% · age 10 ms read by ${nasty}`);
  t.match(await page.locator('[data-endpoint="e2"]').textContent(), 'predicted waiting 2.5 · running 3.0');
});
