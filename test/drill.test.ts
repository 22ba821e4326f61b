/**
 * `regiongate drill` against a two-gateway fleet: gateways spawned from the built `dist/cli.js` (run
 * `npm run build` first) on a redis-server spawned for this file, two simulated regions, and a bounded
 * background load through both gateways. A drill of a region with a healthy failover target passes with
 * zero client errors and a shift time; a drill whose failover target is broken (faulted through the
 * simulators' control API) aborts, restores the region on every gateway, and is kept as aborted in
 * `GET /admin/drills`. Also: `GET /admin/fleet` on either gateway shows both, and shows itself as stale
 * when Redis is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { SimControl } from '../src/sim/sim-control.js';
import { built, Output, ROOT, spawnCli } from './helpers/built.js';
import { startSim, type Teardown } from './helpers/gateway.js';
import { REDIS_SKIP, startRedisServer, tempDir, waitUntil } from './helpers/redis-server.js';

const SECRET = 'drill-test-secret-0123456789abcdef';

interface Gw {
  readonly url: string;
  readonly admin: string;
  readonly child: ChildProcess;
}

async function startGateway(t: Teardown, config: string): Promise<Gw> {
  const child = spawnCli(t, ['start', '--config', config]);
  const err = new Output(child, 'stderr');
  const [m] = await err.match('the listening line', / listening on (http:\/\/[^\s",]+), admin on (http:\/\/[^\s",]+)/);
  return { url: m![1]!, admin: m![2]!, child };
}

async function getJson(url: string): Promise<unknown> {
  const res = await request(url);
  return res.body.json();
}

interface FleetAnswer {
  stale: boolean;
  gateways: { gatewayId: string; requests: number; self: boolean }[];
}

interface Report {
  verdict: string;
  shiftMs: number | null;
  clientErrors: number;
  requests: number;
  restored: boolean;
  reason?: string;
  traffic: Record<string, number>;
  gateways: { gatewayId: string }[];
}

/** Requests through both gateways from a few workers until `stop()`; bounded in count and time. */
function backgroundLoad(gws: readonly Gw[]): { stop(): Promise<{ sent: number; failed: number }> } {
  let running = true;
  let sent = 0;
  let failed = 0;
  const MAX = 20_000;
  const until = Date.now() + 120_000;
  // Worker i sends to gateway i: `(sent + i) % n` looked fairer but, with workers in lock-step, sent
  // every request to the first gateway.
  const worker = async (i: number): Promise<void> => {
    const g = gws[i % gws.length]!;
    while (running && sent < MAX && Date.now() < until) {
      sent++;
      try {
        const res = await request(`${g.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
        });
        await res.body.dump();
        if (res.statusCode >= 500) failed++;
      } catch {
        failed++;
      }
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { sent, failed };
    },
  };
}

interface DrillProcess {
  readonly err: Output;
  /** The exit code and the JSON report (rejects, with stderr, when there is none). */
  readonly done: Promise<{ code: number | null; report: Report; stderr: string }>;
  readonly child: ChildProcess;
}

function startDrill(t: Teardown, args: readonly string[]): DrillProcess {
  const child = spawn(process.execPath, [built('cli.js'), 'drill', ...args, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const out = new Output(child, 'stdout');
  const err = new Output(child, 'stderr');
  // 'close': the exit, and both pipes read to their end.
  const done = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c))).then((code) => {
    const line = out.text.trim();
    try {
      return { code, report: JSON.parse(line) as Report, stderr: err.text };
    } catch {
      throw new Error(`drill printed no JSON report (exit ${code}); stdout ${JSON.stringify(line)}; stderr:\n${err.text}`);
    }
  });
  return { err, done, child };
}

const runDrill = (t: Teardown, args: readonly string[]) => startDrill(t, args).done;

const endpointState = async (g: Gw, id: string): Promise<string | undefined> => {
  const s = (await getJson(`${g.admin}/admin/state`)) as { endpoints: { id: string; state: string }[] };
  return s.endpoints.find((e) => e.id === id)?.state;
};
const aState = (g: Gw): Promise<string | undefined> => endpointState(g, 'a-0');

t.test('drill: bad usage exits 64; an unreachable admin API exits 1 saying so', async (t) => {
  const usage = startDrill(t, ['--region', 'a']);
  await t.rejects(usage.done);
  t.equal(usage.child.exitCode, 64);
  t.match(usage.err.text, /--admin URL is required; --duration DUR is required/);
  for (const [args, msg] of [
    [['--mode', 'fault', '--fault', 'boom', '--percent', '5'], /--fault must be one of error, hang, slow/],
    [['--mode', 'fault', '--fault', 'error', '--percent', '150'], /--percent must be a number from 0 to 100/],
    [['--mode', 'chaos'], /--mode must be drain or fault/],
    [['--fault', 'error'], /--fault, --percent and --delay need --mode fault/],
  ] as const) {
    const bad = startDrill(t, ['--admin', 'http://127.0.0.1:9', '--region', 'a', '--duration', '5s', ...args]);
    await t.rejects(bad.done);
    t.equal(bad.child.exitCode, 64, args.join(' '));
    t.match(bad.err.text, msg);
  }
  const closed = await startSim(t, { name: 'gone' });
  const url = closed.url;
  await closed.close();
  const down = startDrill(t, ['--admin', url, '--region', 'a', '--duration', '5s']);
  await t.rejects(down.done);
  t.equal(down.child.exitCode, 1);
  t.match(down.err.text, /cannot read the fleet view/);
});

t.test('drills against a two-gateway fleet under load', { skip: REDIS_SKIP, timeout: 300_000 }, async (t) => {
  const redis = await startRedisServer(t);
  const a = await startSim(t, { name: 'a', latencyMs: 5, ttftMs: 5 });
  const b = await startSim(t, { name: 'b', latencyMs: 5, ttftMs: 5 });
  const control = new SimControl([a, b]);
  const controlUrl = await control.start();
  t.teardown(() => control.close());
  const dir = tempDir(t, 'regiongate-drill-');
  const config = (id: string): string => {
    const file = join(dir, `${id}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        gatewayId: id,
        listen: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        log: { level: 'warn' },
        health: { probes: false },
        // Bounds a hang fault's attempts (and nothing else here: the simulators answer in milliseconds).
        timeouts: { firstByte: '1s' },
        // The fault drills fail half of region a's attempts. A retry after an injected fault withdraws from
        // the retry budget like the failure it stands for; the default budget (20 % of requests plus 10/s)
        // would run dry at a fast machine's request rate and answer RG_ERR_RETRY_BUDGET, a finding the drill
        // rightly reports as a fail. This fleet is sized to absorb the fault: retries may double the load.
        retry: { budget: { percent: 100 } },
        state: { store: 'redis', secret: SECRET, refreshInterval: '200ms', summaryInterval: '200ms', redis: { url: redis.url, keyPrefix: 'rg-drill:' } },
        regions: [
          { name: 'a', endpoints: [{ url: a.url, models: ['m'] }] },
          { name: 'b', endpoints: [{ url: b.url, models: ['m'] }] },
        ],
      }),
    );
    return file;
  };
  const g1 = await startGateway(t, config('g1'));
  const g2 = await startGateway(t, config('g2'));

  await t.test('GET /admin/fleet on either gateway shows both gateways', async (t) => {
    for (const g of [g1, g2])
      await waitUntil('both gateways in the fleet view', async () => ((await getJson(`${g.admin}/admin/fleet`)) as FleetAnswer).gateways.length === 2, 10_000);
    const view = (await getJson(`${g2.admin}/admin/fleet`)) as FleetAnswer;
    t.same(view.gateways.map((g) => g.gatewayId), ['g1', 'g2']);
    t.equal(view.stale, false);
    t.same(view.gateways.filter((g) => g.self).map((g) => g.gatewayId), ['g2'], 'it marks itself');
  });

  await t.test('a drill with a healthy failover target passes with zero client errors', async (t) => {
    const load = backgroundLoad([g1, g2]);
    // Traffic reaches region a on both gateways before the drill.
    await waitUntil('region a under load', () => a.stats.requests > 20, 10_000);
    const { code, report, stderr } = await runDrill(t, ['--admin', g1.admin, '--region', 'a', '--duration', '3s']);
    const { failed } = await load.stop();
    t.equal(code, 0, `exit 0 on pass; stderr:\n${stderr}`);
    t.equal(report.verdict, 'pass', report.reason ?? '');
    t.equal(report.clientErrors, 0);
    t.ok(report.requests > 0, 'requests were seen during the drill');
    t.type(report.shiftMs, 'number', 'the region shifted on every gateway');
    t.same(report.gateways.map((g) => g.gatewayId), ['g1', 'g2']);
    t.ok((report.traffic.b ?? 0) > 0, 'the traffic went to region b');
    t.equal(failed, 0, 'no client saw an error');
    const drills = (await getJson(`${g2.admin}/admin/drills`)) as { drills: { status: string; region: string; report?: Report }[] };
    t.equal(drills.drills[0]?.status, 'pass', 'the drill is kept in the store with its report, listed on any gateway');
    t.equal(drills.drills[0]?.report?.verdict, 'pass');
  });

  await t.test('Ctrl-C aborts a drill and restores the region on every gateway', async (t) => {
    for (const g of [g1, g2]) await waitUntil('the previous drill to end', async () => (await aState(g)) === 'healthy', 30_000);
    const drill = startDrill(t, ['--admin', g1.admin, '--region', 'a', '--duration', '60s']);
    await drill.err.match('the drill start', /out fleet-wide/);
    for (const g of [g1, g2]) await waitUntil('region a drilled', async () => (await aState(g)) === 'drained', 10_000);
    drill.child.kill('SIGINT');
    const { code, report } = await drill.done;
    t.equal(code, 1);
    t.equal(report.verdict, 'aborted');
    t.match(report.reason, /Ctrl-C/);
    t.equal(report.restored, true);
    for (const g of [g1, g2]) await waitUntil('region a back', async () => (await aState(g)) === 'healthy', 10_000);
  });

  await t.test('a drill whose failover target is broken aborts and restores', async (t) => {
    // Wait for the previous drill to end everywhere (its expiry).
    for (const g of [g1, g2]) await waitUntil('the previous drill to end', async () => (await aState(g)) === 'healthy', 30_000);
    const faulted = await request(`${controlUrl}/regions/b/fault`, { method: 'POST', body: JSON.stringify({ mode: 'error', status: 503 }) });
    t.equal(faulted.statusCode, 200);
    await faulted.body.dump();
    const load = backgroundLoad([g1, g2]);
    await waitUntil('load under way', () => a.stats.requests > 20, 10_000);
    // The gateways saw b fail and would refuse a drill that strands model m: --force, as an operator would.
    const { code, report, stderr } = await runDrill(t, ['--admin', g2.admin, '--region', 'a', '--duration', '60s', '--force']);
    t.equal(code, 1, `exit 1 when not pass; stderr:\n${stderr}`);
    t.equal(report.verdict, 'aborted');
    t.ok(report.clientErrors > 0, 'client errors were seen');
    t.equal(report.restored, true, 'the drill was ended through undrill');
    // The region is back on both gateways long before the drill's 60 s expiry.
    for (const g of [g1, g2])
      await waitUntil('region a back in rotation', async () => {
        const s = (await getJson(`${g.admin}/admin/state`)) as { endpoints: { id: string; state: string }[] };
        return s.endpoints.find((e) => e.id === 'a-0')?.state === 'healthy';
      }, 10_000);
    await load.stop();
    const drills = (await getJson(`${g1.admin}/admin/drills`)) as { drills: { status: string }[] };
    t.equal(drills.drills[0]?.status, 'aborted');
    await (await request(`${controlUrl}/regions/b/fault`, { method: 'DELETE' })).body.dump();
    // b is fixed: the operator puts it back at once rather than wait out its (backed-off) ejections, so the
    // fault drills below have their failover target. Both gateways ejected b; one uneject, through g1,
    // ends both ejections (it is the fleet's).
    const res = await request(`${g1.admin}/admin/endpoints/b-0/uneject`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
    t.equal(res.statusCode, 200);
    await res.body.dump();
    for (const g of [g1, g2]) await waitUntil('region b back in rotation', async () => (await endpointState(g, 'b-0')) === 'healthy', 30_000);
  });

  await t.test('a fault drill (error, 50 %) passes with zero client errors thanks to retries', async (t) => {
    for (const g of [g1, g2]) await waitUntil('the previous drill to end', async () => (await aState(g)) === 'healthy', 30_000);
    for (const g of [g1, g2]) await waitUntil('region b in rotation', async () => (await endpointState(g, 'b-0')) === 'healthy', 30_000);
    const load = backgroundLoad([g1, g2]);
    const before = a.stats.requests;
    await waitUntil('region a under load', () => a.stats.requests > before + 20, 10_000);
    const drill = startDrill(t, ['--admin', g1.admin, '--region', 'a', '--duration', '3s', '--mode', 'fault', '--fault', 'error', '--percent', '50']);
    await drill.err.match('the fault start', /faulted fleet-wide/);
    await waitUntil('the other gateway to hold the fault', async () => ((await getJson(`${g2.admin}/admin/state`)) as { faults: unknown[] }).faults.length === 1, 5000);
    const { code, report, stderr } = await drill.done;
    const { failed } = await load.stop();
    t.equal(code, 0, `exit 0 on pass; stderr:\n${stderr}`);
    t.equal(report.verdict, 'pass', report.reason ?? '');
    t.match(report, { mode: 'fault', fault: { kind: 'error', percent: 50 }, shiftMs: null });
    t.equal(report.clientErrors, 0);
    t.equal(failed, 0, 'no client saw an error');
    t.ok((report.traffic.a ?? 0) > 0, 'region a stayed in rotation (half its attempts still sent)');
    let injected = 0;
    for (const g of [g1, g2]) {
      const m = /^regiongate_faults_injected_total\{region="a",fault="error"\} (\d+)/m.exec(await (await request(`${g.admin}/metrics`)).body.text());
      injected += Number(m?.[1] ?? 0);
    }
    t.ok(injected > 0, `faults were injected, and counted under their own label (${injected})`);
    const drills = (await getJson(`${g2.admin}/admin/drills`)) as { drills: { status: string; mode?: string }[] };
    t.match(drills.drills[0], { status: 'pass', mode: 'fault' });
  });

  await t.test('a hang fault is bounded by the first-byte timeout', async (t) => {
    for (const g of [g1, g2]) await waitUntil('the previous fault to end', async () => ((await getJson(`${g.admin}/admin/state`)) as { faults: unknown[] }).faults.length === 0, 30_000);
    for (const g of [g1, g2]) await waitUntil('region b in rotation', async () => (await endpointState(g, 'b-0')) === 'healthy', 30_000);
    const load = backgroundLoad([g1, g2]);
    const before = a.stats.requests;
    await waitUntil('region a under load', () => a.stats.requests > before + 20, 10_000);
    const { report, stderr } = await runDrill(t, ['--admin', g2.admin, '--region', 'a', '--duration', '3s', '--mode', 'fault', '--fault', 'hang', '--percent', '50']);
    // Every request of the load ends (stop() waits for them): a hung attempt gave up at timeouts.firstByte
    // and was retried in region b.
    const { sent, failed } = await load.stop();
    t.ok(sent > 0);
    t.equal(failed, 0, `hung attempts were retried elsewhere; stderr:\n${stderr}`);
    t.equal(report.clientErrors, 0);
    t.match(report, { mode: 'fault', fault: { kind: 'hang' } });
    const metrics = await (await request(`${g1.admin}/metrics`)).body.text();
    t.match(metrics, /^regiongate_retries_total\{reason="RG_ERR_FAULT_HANG"\} [1-9]/m, 'retried, with the drill named as the reason');
  });

  await t.test('with Redis gone, the fleet view shows the gateway itself and says it is stale', async (t) => {
    await redis.kill();
    await waitUntil('a stale view', async () => ((await getJson(`${g1.admin}/admin/fleet`)) as FleetAnswer).stale, 15_000);
    const view = (await getJson(`${g1.admin}/admin/fleet`)) as FleetAnswer;
    t.ok(view.gateways.some((g) => g.self && g.gatewayId === 'g1'));
    const drills = await request(`${g1.admin}/admin/drills`);
    t.equal(drills.statusCode, 503, 'drills cannot be listed without the store');
    await drills.body.dump();
  });
});
