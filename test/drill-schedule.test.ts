/**
 * Scheduled drills (`drills.schedule`): on simulated time, with two gateways' schedules on one memory
 * store, each cadence period's drill runs on exactly one gateway, only inside its UTC window, within the
 * day's budget, and never while the region or its failover target is unhealthy. The config rejects
 * entries that cannot run, naming the key. End to end, a real gateway runs its scheduled drill through
 * the same engine as the CLI and keeps the record, with its report, in `GET /admin/drills`.
 */
import t from 'tap';
import { request } from 'undici';
import { resolveConfig } from '../src/config/index.js';
import { DrillSchedule, inWindow, type DrillScheduleConfig } from '../src/drill/drill-schedule.js';
import type { DrillOptions, DrillReport } from '../src/drill/drill-run.js';
import { DrillRunner } from '../src/drill/drill-runner.js';
import { ConfigError } from '../src/errors.js';
import { MemoryBus, MemoryStore } from '../src/state/memory-store.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { seededRandom } from '../src/util/random.js';
import { startGateway, startSim, type Teardown } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

const DAY = 86_400_000;
/** 2026-01-01T00:00:00Z */
const MIDNIGHT = Date.UTC(2026, 0, 1);
const at = (day: number, hh: number, mm = 0): number => MIDNIGHT + day * DAY + (hh * 60 + mm) * 60_000;

const regions = [
  { name: 'a', endpoints: [{ url: 'http://127.0.0.1:1', models: ['m'] }] },
  { name: 'b', endpoints: [{ url: 'http://127.0.0.1:2', models: ['m'] }] },
];

function drillsConfig(drills: unknown): DrillScheduleConfig {
  return resolveConfig({ admin: { port: 0 }, drills, regions } as never, {}).drills;
}

/** Two gateways' schedules over one memory store; `run` records which gateway ran what. */
async function twoSchedules(t: Teardown, cfg: DrillScheduleConfig, unwise: (region: string) => string | undefined = () => undefined) {
  const clock = new FakeClock(at(0, 1));
  const bus = new MemoryBus();
  const runs: { gw: string; o: DrillOptions }[] = [];
  const lines: string[] = [];
  const make = async (gw: string): Promise<DrillSchedule> => {
    const store = new MemoryStore({ gatewayId: gw, clock, localEvents: () => [], bus });
    await store.start();
    t.teardown(() => store.close());
    const logger = createLogger('info', (l) => void lines.push(l), { gatewayId: gw });
    const s = new DrillSchedule(cfg, {
      clock,
      random: seededRandom(1),
      store,
      logger,
      unwise,
      runner: new DrillRunner({
        clock,
        logger,
        admin: { get: async () => new Error('unused'), post: async () => new Error('unused') },
        run: async (o) => {
          runs.push({ gw, o });
          return { id: `d-${runs.length}`, region: o.region, verdict: 'pass' } as DrillReport;
        },
      }),
    });
    t.teardown(() => s.close());
    return s;
  };
  const s = [await make('g1'), await make('g2')];
  const checkBoth = (): Promise<unknown> => Promise.all(s.map((x) => x.check()));
  return { clock, runs, lines, checkBoth };
}

t.test('a window wraps past midnight when start is after end', async (t) => {
  t.ok(inWindow(23 * 60 + 30, { start: 22 * 60, end: 2 * 60 }));
  t.ok(inWindow(60, { start: 22 * 60, end: 2 * 60 }));
  t.notOk(inWindow(3 * 60, { start: 22 * 60, end: 2 * 60 }));
  t.notOk(inWindow(4 * 60, { start: 2 * 60, end: 4 * 60 }), 'the end is exclusive');
});

t.test('each period runs once, on one gateway of the fleet, inside its window', async (t) => {
  const cfg = drillsConfig({ schedule: [{ region: 'a', cadence: '24h', window: { start: '02:00', end: '04:00' }, duration: '5m', mode: 'fault', fault: 'error', percent: 50 }] });
  const { clock, runs, checkBoth } = await twoSchedules(t, cfg);
  await checkBoth();
  t.equal(runs.length, 0, '01:00 is outside the window');
  clock.tick(at(0, 2, 30) - clock.now());
  await checkBoth();
  t.equal(runs.length, 1, 'exactly one gateway ran it');
  t.match(runs[0]?.o, { region: 'a', durationMs: 300_000, maxErrorRatePct: 1, origin: 'schedule', fault: { kind: 'error', percent: 50, delayMs: 0 } });
  clock.tick(30 * 60_000);
  await checkBoth();
  t.equal(runs.length, 1, 'not twice in one period');
  clock.tick(at(1, 2, 1) - clock.now());
  await checkBoth();
  t.equal(runs.length, 2, 'the next day, again once');
});

t.test('the budget caps scheduled drills per UTC day, fleet-wide', async (t) => {
  const entry = { cadence: '24h', duration: '5m' };
  const cfg = drillsConfig({ maxPerDay: 1, schedule: [{ ...entry, region: 'a' }, { ...entry, region: 'b' }] });
  const { clock, runs, lines, checkBoth } = await twoSchedules(t, cfg);
  await checkBoth();
  await checkBoth();
  t.equal(runs.length, 1, 'one drill today for two entries');
  t.ok(lines.some((l) => /"event":"drill.skipped".*budget of 1/.test(l)), 'the skip is logged with its reason');
  clock.tick(DAY);
  await checkBoth();
  await checkBoth();
  t.equal(runs.length, 2, 'a new day, a new budget');
});

t.test('never during a real outage: skipped while unwise, run once healthy within the window', async (t) => {
  let sick: string | undefined = 'region a is not healthy (a-0 ejected)';
  const cfg = drillsConfig({ schedule: [{ region: 'a', cadence: '24h', duration: '5m' }] });
  const { clock, runs, lines, checkBoth } = await twoSchedules(t, cfg, () => sick);
  await checkBoth();
  clock.tick(60_000);
  await checkBoth();
  t.equal(runs.length, 0);
  t.equal(lines.filter((l) => l.includes('a-0 ejected')).length, 2, 'one line per gateway per period, not per check');
  sick = undefined;
  clock.tick(60_000);
  await checkBoth();
  t.equal(runs.length, 1, 'run once the fleet is healthy');
});

t.test('the config rejects scheduled drills that cannot run, naming the key', async (t) => {
  const issues = (drills: unknown, admin: unknown = { port: 0 }): string[] => {
    try {
      resolveConfig({ admin, drills, regions } as never, {});
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return [...err.issues];
      throw err;
    }
  };
  t.match(issues({ schedule: [{ region: 'zz', cadence: '24h', duration: '5m' }] }).join('\n'), /drills\.schedule\[0\]\.region: unknown region "zz"/);
  t.match(issues({ schedule: [{ region: 'a', cadence: '24h', duration: '5m', mode: 'fault' }] }).join('\n'), /drills\.schedule\[0\]\.fault: is required[^]*drills\.schedule\[0\]\.percent: is required/);
  t.match(issues({ schedule: [{ region: 'a', cadence: '24h', duration: '5m', percent: 5 }] }).join('\n'), /drills\.schedule\[0\]\.percent: applies to mode: fault only/);
  t.match(issues({ schedule: [{ region: 'a', cadence: '24h', duration: '5m', window: { start: '25:00' } }] }).join('\n'), /drills\.schedule\[0\]\.window\.start: must be a UTC time/);
  t.match(issues({ schedule: [{ region: 'a', cadence: '10m', duration: '1h' }] }).join('\n'), /drills\.schedule\[0\]\.duration: must be shorter than the cadence/);
  t.match(issues({ schedule: [{ region: 'a', cadence: '24h', duration: '5m' }] }, { enabled: false }).join('\n'), /drills\.schedule: needs admin\.enabled/);
  t.match(issues({ schedule: [], bogus: 1 }).join('\n'), /drills/, 'unknown keys are rejected');
});

t.test('a real gateway runs its scheduled drill and keeps the record with its report', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const gw = await startGateway(
    t,
    [
      { name: 'a', url: a.url, models: ['m'] },
      { name: 'b', url: b.url, models: ['m'] },
    ],
    {
      health: { probes: false },
      admin: { host: '127.0.0.1', port: 0 },
      state: { summaryInterval: '200ms' },
      drills: { checkInterval: '200ms', schedule: [{ region: 'a', cadence: '1h', duration: '1s' }] },
    },
  );
  type Listed = { drills: { id: string; status: string; origin?: string; mode?: string; report?: { verdict: string; origin: string } }[] };
  let listed: Listed = { drills: [] };
  await waitUntil('the scheduled drill to end', async () => {
    listed = (await (await request(`${gw.admin!.url}/admin/drills`, { headers: { 'x-regiongate-admin': '1' } })).body.json()) as Listed;
    return listed.drills.some((d) => d.status !== 'running');
  }, 60_000);
  t.equal(listed.drills.length, 1, 'one run in the period');
  t.match(listed.drills[0], { status: 'pass', origin: 'schedule', mode: 'drain', report: { verdict: 'pass', origin: 'schedule' } });
});
