// Active probes on simulated time with a fake probe function: thresholds, expected statuses, our own
// timeout, no overlap, jitter bounds, close(), and how probes combine with ejections in the tracker.
import t from 'tap';
import { FakeClock } from '../src/util/fake-clock.js';
import { seededRandom } from '../src/util/random.js';
import { HealthTracker, Prober, type HealthTransition, type ProbeFn } from '../src/health/index.js';
import { healthOptions } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

/** Let settled promises run their callbacks (not a sleep: no timer is waited for). */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

const a = testEndpoint('a');

function fakeProbe() {
  const status = new Map<string, number>();
  const calls: { id: string; at: number; signal: AbortSignal }[] = [];
  let clock: FakeClock | undefined;
  const probe: ProbeFn = async (e, signal) => {
    calls.push({ id: e.id, at: clock?.now() ?? 0, signal });
    return status.get(e.id) ?? 200;
  };
  return { status, calls, probe, bind: (c: FakeClock) => (clock = c) };
}

const opts = healthOptions({ interval: 1000, timeout: 300, jitter: 0, healthyThreshold: 2, unhealthyThreshold: 3, expectedStatus: [200, 204] });

t.test('thresholds: down after unhealthyThreshold failures, up after healthyThreshold successes', async (t) => {
  const clock = new FakeClock();
  const fake = fakeProbe();
  fake.bind(clock);
  const changes: string[] = [];
  const prober = new Prober({ endpoints: [a], clock, random: () => 0, options: opts, probe: fake.probe, onChange: (e, up) => changes.push(`${e.id}:${up}`) });
  t.teardown(() => prober.close());
  prober.start();
  prober.start();
  clock.tick(0);
  await flush();
  t.equal(fake.calls.length, 1, 'first probe right away (random 0), start() is idempotent');
  t.equal(prober.isUp(a), true);
  fake.status.set('a', 503);
  for (let i = 0; i < 2; i++) {
    clock.tick(1000);
    await flush();
  }
  t.equal(prober.isUp(a), true, 'two failures are below the threshold');
  clock.tick(1000);
  await flush();
  t.equal(prober.isUp(a), false);
  t.match(prober.status(a), { up: false, consecutiveFailures: 3, lastStatus: 503, lastError: 'status' });
  fake.status.set('a', 204);
  clock.tick(1000);
  await flush();
  t.equal(prober.isUp(a), false, 'one success is not enough');
  clock.tick(1000);
  await flush();
  t.equal(prober.isUp(a), true, 'any expected status passes');
  t.same(changes, ['a:false', 'a:true']);
  t.same(fake.calls.map((c) => c.at - fake.calls[0].at), [0, 1000, 2000, 3000, 4000, 5000], 'one probe per interval');
});

t.test('timeout: our timer fails the probe on time and aborts it', async (t) => {
  const clock = new FakeClock();
  const signals: AbortSignal[] = [];
  const probe: ProbeFn = (_e, signal) =>
    new Promise((_resolve, reject) => {
      signals.push(signal);
      signal.addEventListener('abort', () => reject(new Error('aborted')));
    });
  const prober = new Prober({ endpoints: [a], clock, random: () => 0, options: { ...opts, unhealthyThreshold: 2 }, probe });
  t.teardown(() => prober.close());
  prober.start();
  clock.tick(0);
  clock.tick(299);
  await flush();
  t.equal(prober.status(a)?.probes, 0, 'no verdict before the timeout');
  clock.tick(1);
  t.equal(signals[0].aborted, true, 'aborted when the timeout fires');
  t.match(prober.status(a), { probes: 1, consecutiveFailures: 1, lastError: 'timeout' });
  await flush();
  clock.tick(1000);
  t.equal(signals.length, 2, 'the next probe starts an interval after the timeout');
  clock.tick(300);
  t.equal(prober.isUp(a), false);
});

t.test('a probe never overlaps with itself, even if it ignores the abort', async (t) => {
  const clock = new FakeClock();
  let calls = 0;
  const probe: ProbeFn = () => {
    calls++;
    return new Promise<number>(() => {}); // hangs for ever
  };
  const prober = new Prober({ endpoints: [a], clock, random: () => 0, options: opts, probe });
  t.teardown(() => prober.close());
  prober.start();
  for (let i = 0; i < 5; i++) {
    clock.tick(1300);
    await flush();
  }
  t.equal(calls, 1, 'no second request while the first is pending');
  // Verdicts at 300 (the timeout), then each round an interval later: 1300, 2300, ... 6300.
  t.equal(prober.status(a)?.consecutiveFailures, 7, 'each round still counts as a timeout');
  t.equal(prober.isUp(a), false);
});

t.test('jitter keeps each wait within interval × (1 ± jitter)', async (t) => {
  const clock = new FakeClock();
  const fake = fakeProbe();
  fake.bind(clock);
  const verdicts: number[] = [];
  const onResult = (): void => void verdicts.push(clock.now());
  const prober = new Prober({ endpoints: [a], clock, random: seededRandom(7), options: { ...opts, jitter: 0.2 }, probe: fake.probe, onResult });
  t.teardown(() => prober.close());
  prober.start();
  for (let i = 0; i < 60; i++) {
    clock.tick(100);
    await flush();
  }
  // From one verdict to the next probe (verdicts land when the test flushes, after the tick).
  const gaps = fake.calls.slice(1).map((c, i) => c.at - verdicts[i]);
  t.ok(gaps.length >= 4, `${gaps.length} gaps`);
  t.ok(gaps.every((g) => g >= 800 && g <= 1200), `gaps ${gaps.join(', ')}`);
  t.ok(new Set(gaps).size > 1, 'not all equal');
  t.throws(() => healthOptions({ interval: 10 }), /at least 100ms/, 'an interval under 100 ms is refused');
});

t.test('close() clears every timer and aborts probes in flight', async (t) => {
  const clock = new FakeClock();
  const signals: AbortSignal[] = [];
  const probe: ProbeFn = (_e, signal) => {
    signals.push(signal);
    return new Promise<number>(() => {});
  };
  const prober = new Prober({ endpoints: [a, testEndpoint('b')], clock, random: () => 0.5, options: opts, probe });
  prober.start();
  clock.tick(500);
  t.equal(signals.length, 2);
  t.ok(clock.pending > 0);
  prober.close();
  t.equal(clock.pending, 0);
  t.ok(signals.every((s) => s.aborted));
  prober.start();
  t.equal(clock.pending, 0, 'no restart after close');
});

t.test('tracker: failing probes eject, passing probes bring probation', async (t) => {
  const clock = new FakeClock();
  const fake = fakeProbe();
  const transitions: HealthTransition[] = [];
  const tracker = new HealthTracker({ endpoints: [a], clock, random: () => 0, probe: fake.probe, options: healthOptions({ interval: 1000, jitter: 0, healthyThreshold: 2, unhealthyThreshold: 2 }) });
  tracker.onTransition((tr) => transitions.push(tr));
  tracker.start();
  const step = async (n: number) => {
    for (let i = 0; i < n; i++) {
      clock.tick(1000);
      await flush();
    }
  };
  clock.tick(0);
  await flush();
  fake.status.set('a', 500);
  await step(2);
  t.equal(tracker.state(a), 'ejected');
  t.equal(transitions.at(-1)?.cause, 'probe_failed');
  t.equal(transitions.at(-1)?.until, undefined, 'no known end');
  t.equal(tracker.recoveryIn(a), 2000, 'estimate: interval × healthyThreshold');
  t.equal(tracker.snapshot()[0].probe, 'down');
  fake.status.delete('a');
  await step(2);
  t.equal(tracker.state(a), 'probation');
  t.equal(transitions.at(-1)?.cause, 'probe_recovered');

  // Passing probes do not cut an outlier ejection short.
  await step(10);
  t.equal(tracker.state(a), 'healthy');
  tracker.attemptEnded({ kind: 'local_origin', endpoint: a, failure: 'connect_refused', elapsedMs: 1 });
  const until = clock.now() + tracker.recoveryIn(a);
  await step(1);
  t.equal(tracker.state(a), 'ejected', 'probes pass, the ejection time has not');
  clock.tick(until - clock.now());
  t.equal(tracker.state(a), 'probation');

  // Failing probes keep an endpoint ejected past its ejection time.
  tracker.attemptEnded({ kind: 'local_origin', endpoint: a, failure: 'connect_refused', elapsedMs: 1 });
  const ejected = transitions.length;
  fake.status.set('a', 500);
  await step(10);
  t.equal(tracker.state(a), 'ejected');
  t.equal(transitions.length, ejected, 'no flapping while probes fail');
  t.equal(tracker.snapshot()[0].cause, 'probe_failed', 'the reason is now the probes');
  fake.status.delete('a');
  await step(2);
  t.equal(tracker.state(a), 'probation');

  await tracker.close();
  t.equal(clock.pending, 0, 'tracker close() leaves no timer (probes, expiries, breaker rotation)');
});

t.test("the gateway's own trouble (out of descriptors, shutting down) is no verdict on the endpoint", async (t) => {
  const clock = new FakeClock();
  let failure: Error = Object.assign(new Error('too many open files'), { code: 'EMFILE' });
  const changes: string[] = [];
  let calls = 0;
  const probe: ProbeFn = async () => {
    calls++;
    throw failure;
  };
  const prober = new Prober({ endpoints: [a], clock, random: () => 0, options: opts, probe, onChange: (e, up) => changes.push(`${e.id}:${up}`) });
  t.teardown(() => prober.close());
  prober.start();
  clock.tick(0);
  await flush();
  for (let i = 0; i < 5; i++) {
    clock.tick(1000);
    await flush();
  }
  t.ok(calls >= 5, 'probing goes on');
  t.equal(prober.isUp(a), true, 'five EMFILE rounds did not take the endpoint down');
  t.same(changes, []);
  failure = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  for (let i = 0; i < 3; i++) {
    clock.tick(1000);
    await flush();
  }
  t.equal(prober.isUp(a), false, 'a refused connection is a failed check');
});
