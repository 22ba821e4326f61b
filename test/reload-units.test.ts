// The parts of a reload without sockets: the config diff by endpoint id, which settings are live, and
// the health tracker and prober taking endpoints in and out on simulated time.
import t from 'tap';
import { HEALTH_NOT_LIVE } from '../src/health/health-tracker.js';
import { resolveConfig } from '../src/config/index.js';
import { HealthTracker, Prober, type ProbeFn } from '../src/health/index.js';
import { healthOptions } from './helpers/config-sections.js';
import type { Endpoint } from '../src/registry/endpoint.js';
import { changedSettings, diffEndpoints } from '../src/reload/config-diff.js';
import { isLiveSetting, notLiveSettings } from '../src/reload/live-settings.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { seededRandom } from '../src/util/random.js';

function endpoint(id: string): Endpoint {
  return { id, region: 'eu', provider: 'test', priority: 0, weight: 1, origin: 'http://127.0.0.1:1', basePath: '', models: undefined, headers: [], connections: 0 };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

const cfg = (regions: unknown, extra: Record<string, unknown> = {}) => resolveConfig({ ...extra, regions }, {});

t.test('endpoints compared by id: added, removed, changed, unchanged', async (t) => {
  const before = cfg([
    { name: 'a', endpoints: [{ url: 'http://a' }, { url: 'http://a2' }] },
    { name: 'b', endpoints: [{ id: 'b', url: 'http://b' }] },
    { name: 'c', priority: 0, endpoints: [{ url: 'http://c' }] },
  ]);
  const after = cfg([
    { name: 'a', endpoints: [{ url: 'http://a' }, { url: 'http://a2', weight: 3 }] },
    { name: 'c', priority: 1, endpoints: [{ url: 'http://c' }] },
    { name: 'd', endpoints: [{ url: 'http://d' }] },
  ]);
  const d = diffEndpoints(before, after);
  t.same({ added: d.added, removed: d.removed, changed: d.changed, unchanged: d.unchanged }, { added: ['d-0'], removed: ['b'], changed: ['a-1', 'c-0'], unchanged: ['a-0'] });
  t.same(d.next.map((e) => e.key), ['regions[0].endpoints[0]', 'regions[0].endpoints[1]', 'regions[1].endpoints[0]', 'regions[2].endpoints[0]']);
});

t.test('changed settings are named by path; only the live ones are left out of notLive', async (t) => {
  const regions = [{ name: 'a', endpoints: [{ url: 'http://a' }] }];
  const before = cfg(regions);
  const after = cfg([{ name: 'a', endpoints: [{ url: 'http://b' }] }], {
    listen: { port: 9000 },
    routing: { rules: [{ model: 'm', regions: ['a'] }] },
    health: { interval: '3s', path: '/ready', breaker: { resetTimeout: '5s' } },
    log: { level: 'warn', access: false },
    retry: { attempts: 5, statuses: [502], budget: { percent: 50 } },
  });
  const changed = changedSettings(before, after);
  t.same(
    changed.sort(),
    ['health.breaker.resetTimeout', 'health.interval', 'health.path', 'listen.port', 'log.access', 'log.level', 'retry.attempts', 'retry.budget.percent', 'retry.statuses', 'routing.rules'],
    'regions are left to the endpoint diff',
  );
  t.same(notLiveSettings(changed).sort(), ['health.breaker.resetTimeout', 'health.path', 'listen.port'], 'the probe path and the breakers need a restart; the probe interval does not');
  for (const p of HEALTH_NOT_LIVE) t.notOk(isLiveSetting(`${p}.x`) || isLiveSetting(p), `${p} is named for a restart`);
  t.ok(isLiveSetting('routing.rules[0].regions'), 'a prefix covers what is under it');
  t.notOk(isLiveSetting('routing.loadSignals.timeout'), 'a sibling is not covered');
  t.notOk(isLiveSetting('retry.attemptsX'), 'nor a longer name');
});

t.test('health: an added endpoint starts in probation (cause added); a removed one is forgotten, its late outcomes ignored', async (t) => {
  const clock = new FakeClock();
  const a = endpoint('a');
  const tracker = new HealthTracker({ endpoints: [a], clock, random: seededRandom(1), options: healthOptions({ probes: false, probation: { window: 10_000 } }) });
  t.teardown(() => tracker.close());
  const transitions: string[] = [];
  tracker.onTransition((tr) => transitions.push(`${tr.endpointId}:${tr.to}:${tr.cause}`));
  const b = endpoint('b');
  tracker.addEndpoints([b]);
  t.equal(tracker.state(b), 'probation');
  t.same(transitions, ['b:probation:added']);
  t.ok(tracker.weightFactor(b) < 1, 'a ramped share');
  clock.tick(10_000);
  t.equal(tracker.state(b), 'healthy', 'healthy once the probation window passed');
  t.same(tracker.snapshot().map((s) => s.id), ['a', 'b']);

  tracker.attemptStarted(a);
  tracker.removeEndpoints([a]);
  t.same(tracker.snapshot().map((s) => s.id), ['b']);
  t.equal(tracker.isRoutable(a), false, 'a removed endpoint is not routable');
  // A replacement with the same id: the old object's outcomes do not touch it.
  const a2 = endpoint('a');
  tracker.addEndpoints([a2]);
  for (let i = 0; i < 10; i++) tracker.attemptEnded({ kind: 'local_origin', endpoint: a, failure: 'connect_refused', elapsedMs: 1 });
  t.equal(tracker.state(a2), 'probation', 'failures of the old object do not eject its successor');
  t.equal(tracker.inflight(a2), 0, 'nor count in its in-flight attempts');
});

t.test('prober: an added endpoint is probed, a removed one no longer, its probe in flight aborted', async (t) => {
  const clock = new FakeClock();
  const calls: { id: string; signal: AbortSignal }[] = [];
  let hold: (() => void) | undefined;
  const probe: ProbeFn = (e, signal) => {
    calls.push({ id: e.id, signal });
    return e.id === 'slow' ? new Promise((resolve) => (hold = () => resolve(200))) : Promise.resolve(200);
  };
  const options = healthOptions({ interval: 1000, timeout: 5000, jitter: 0 });
  const prober = new Prober({ endpoints: [endpoint('a')], clock, random: () => 0, options, probe });
  t.teardown(() => prober.close());
  prober.start();
  clock.tick(0);
  await flush();
  const slow = endpoint('slow');
  prober.add(slow);
  clock.tick(0);
  await flush();
  t.same(calls.map((c) => c.id), ['a', 'slow'], 'the added endpoint is probed at once');
  prober.remove('slow');
  t.equal(calls[1].signal.aborted, true, 'its probe in flight is aborted');
  hold?.();
  clock.tick(5000);
  await flush();
  t.equal(calls.filter((c) => c.id === 'slow').length, 1, 'and it is not probed again');
  t.equal(prober.status(slow), undefined, 'nor known');
  t.ok(calls.filter((c) => c.id === 'a').length > 1, 'the others carry on');
});
