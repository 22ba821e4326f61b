// Passive outlier detection on simulated time: Envoy's split between local-origin failures and
// upstream 5xx, consecutive counters, failure percentage, and ejection backoff with jitter and cap.
import t from 'tap';
import type { Endpoint } from '../src/registry/endpoint.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { seededRandom } from '../src/util/random.js';
import {
  HealthTracker,
  ejectionTime,
  type AttemptOutcome,
  type HealthTransition,
  type LocalOriginFailure,
} from '../src/health/index.js';
import { healthOptions, type HealthConfigInput } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

const ok = (e: Endpoint): AttemptOutcome => ({ kind: 'success', endpoint: e, status: 200, ttfbMs: 50 });
const e5xx = (e: Endpoint): AttemptOutcome => ({ kind: 'upstream_5xx', endpoint: e, status: 503, ttfbMs: 5 });
const local = (e: Endpoint, failure: LocalOriginFailure): AttemptOutcome => ({ kind: 'local_origin', endpoint: e, failure, elapsedMs: 3 });

function setup(options: HealthConfigInput = {}, random = () => 0) {
  const clock = new FakeClock();
  const a = testEndpoint('a');
  const tracker = new HealthTracker({ endpoints: [a, testEndpoint('b')], clock, random, options: healthOptions({ probes: false, ...options }) });
  const transitions: HealthTransition[] = [];
  tracker.onTransition((tr) => transitions.push(tr));
  const report = (o: AttemptOutcome): void => {
    tracker.attemptStarted(o.endpoint);
    tracker.attemptEnded(o);
  };
  return { clock, a, tracker, transitions, report };
}

t.test('one connect_refused ejects at once', async (t) => {
  const { clock, a, tracker, transitions, report } = setup();
  t.teardown(() => tracker.close());
  report(local(a, 'connect_refused'));
  t.equal(tracker.state(a), 'ejected');
  t.equal(tracker.isRoutable(a), false);
  t.equal(tracker.recoveryIn(a), 2000, 'first ejection: base time (random 0 means no jitter)');
  t.same(transitions, [{ endpointId: 'a', region: 'eu', from: 'healthy', to: 'ejected', cause: 'consecutive_local_origin', at: clock.now(), until: clock.now() + 2000 }]);
});

t.test('resets and timeouts eject after two in a row', async (t) => {
  for (const failure of ['reset', 'connect_timeout', 'first_byte_timeout', 'idle_timeout'] as const) {
    const { a, tracker, report } = setup();
    report(local(a, failure));
    t.equal(tracker.state(a), 'healthy', `one ${failure} is tolerated`);
    report(local(a, failure));
    t.equal(tracker.state(a), 'ejected', `two ${failure} eject`);
    await tracker.close();
  }
  const { a, tracker, report } = setup();
  t.teardown(() => tracker.close());
  report(local(a, 'reset'));
  report(ok(a));
  report(local(a, 'reset'));
  t.equal(tracker.state(a), 'healthy', 'a success in between resets the count');
  report(e5xx(a));
  report(local(a, 'reset'));
  t.equal(tracker.state(a), 'healthy', 'a 5xx answer also proves the connection side works');
});

t.test('three consecutive 502/503/504 eject; two and a success do not', async (t) => {
  const { a, tracker, transitions, report } = setup();
  t.teardown(() => tracker.close());
  report(e5xx(a));
  report(e5xx(a));
  report(ok(a));
  report(e5xx(a));
  report(e5xx(a));
  t.equal(tracker.state(a), 'healthy');
  t.equal(tracker.snapshot()[0].consecutive5xx, 2);
  report(local(a, 'reset'));
  t.equal(tracker.state(a), 'healthy', 'a local-origin failure does not reset the 5xx count');
  report(e5xx(a));
  t.equal(tracker.state(a), 'ejected');
  t.equal(transitions.at(-1)?.cause, 'consecutive_gateway_failure');
  t.equal(tracker.snapshot()[0].consecutive5xx, 0, 'counters reset on ejection');
});

t.test('500s are counted apart: five in a row eject, and they never feed the breaker or the window', async (t) => {
  const e500 = (e: Endpoint): AttemptOutcome => ({ kind: 'upstream_5xx', endpoint: e, status: 500, ttfbMs: 5 });
  const { a, tracker, transitions, report } = setup({
    outlier: { failurePercentageThreshold: 10, failurePercentageRequestVolume: 2 },
    breaker: { volumeThreshold: 2, errorThresholdPercentage: 10 },
  });
  t.teardown(() => tracker.close());
  for (let i = 0; i < 4; i++) report(e500(a));
  t.equal(tracker.state(a), 'healthy', 'four 500s: a request-specific error is not an outage');
  t.equal(tracker.snapshot()[0].breaker, 'closed', 'the breaker saw no failure');
  report(e500(a));
  t.equal(tracker.state(a), 'ejected', 'the fifth in a row ejects');
  t.equal(transitions.at(-1)?.cause, 'consecutive_5xx');
});

t.test('excused failures (the client\'s, the gateway\'s own, unrecognised) say nothing of the endpoint', async (t) => {
  const { a, tracker, report } = setup({ breaker: { volumeThreshold: 2 } });
  t.teardown(() => tracker.close());
  for (let i = 0; i < 50; i++) report({ kind: 'excused', endpoint: a, code: 'RG_ERR_UNCLASSIFIED' });
  t.equal(tracker.state(a), 'healthy');
  t.equal(tracker.snapshot()[0].breaker, 'closed');
  t.equal(tracker.inflight(a), 0, 'the attempt still ends');
});

t.test('a first-byte timeout is evidence only when the endpoint answered nothing meanwhile', async (t) => {
  const { clock, a, tracker, report } = setup();
  t.teardown(() => tracker.close());
  const timedOut = (): AttemptOutcome => ({ kind: 'local_origin', endpoint: a, failure: 'first_byte_timeout', elapsedMs: 30_000 });
  // A long generation times out while the endpoint keeps answering others: slow, not hung.
  for (let i = 0; i < 5; i++) {
    clock.tick(10_000);
    tracker.attemptAnswered(a);
    clock.tick(20_000);
    report(timedOut());
  }
  t.equal(tracker.state(a), 'healthy', 'never ejected for slow generations');
  t.equal(tracker.snapshot()[0].consecutiveLocalOrigin, 0);
  t.equal(tracker.answeredWithin(a, 20_000), true);
  // Hung: nothing answered during the wait.
  clock.tick(30_001);
  t.equal(tracker.answeredWithin(a, 30_000), false);
  report(timedOut());
  clock.tick(1);
  report(timedOut());
  t.equal(tracker.state(a), 'ejected', 'two hangs in a row eject');
});

t.test('rate-limited and cancelled attempts are not failures', async (t) => {
  const { a, tracker, report } = setup({ rateLimit: { min: 10 } });
  t.teardown(() => tracker.close());
  for (let i = 0; i < 5; i++) {
    report({ kind: 'cancelled', endpoint: a });
    report({ kind: 'rate_limited', endpoint: a, retryAfterMs: 10, ttfbMs: 1, sharedCredentials: true });
  }
  t.not(tracker.state(a), 'ejected');
  t.equal(tracker.snapshot()[0].consecutiveLocalOrigin, 0);
});

t.test('failure percentage over the window (off by default)', async (t) => {
  const opts = { outlier: { failurePercentageThreshold: 50, failurePercentageRequestVolume: 10, consecutive5xx: 100, consecutiveGatewayFailure: 100 } };
  const { clock, a, tracker, transitions, report } = setup(opts);
  t.teardown(() => tracker.close());
  for (let i = 0; i < 4; i++) {
    report(ok(a));
    report(e5xx(a));
  }
  t.equal(tracker.state(a), 'healthy', 'below the request volume');
  clock.tick(10_000); // the window slides past all of it
  for (let i = 0; i < 4; i++) {
    report(ok(a));
    report(e5xx(a));
  }
  t.equal(tracker.state(a), 'healthy', 'old attempts left the window');
  report(ok(a));
  report(e5xx(a));
  t.equal(tracker.state(a), 'ejected', '5 of 10 failed');
  t.equal(transitions.at(-1)?.cause, 'failure_rate');

  // (The breaker would open on this run of failures; keep it out of the way.)
  const off = setup({ outlier: { consecutive5xx: 100, consecutiveGatewayFailure: 100 }, breaker: { volumeThreshold: 1000 } });
  t.teardown(() => off.tracker.close());
  for (let i = 0; i < 50; i++) off.report(e5xx(off.a));
  t.equal(off.tracker.state(off.a), 'healthy', 'off by default');
});

t.test('ejection time backs off with the number of ejections, up to the cap', async (t) => {
  const { clock, a, tracker, transitions, report } = setup({ outlier: { baseEjectionTime: 1000, maxEjectionTime: 3500 } });
  t.teardown(() => tracker.close());
  const durations: number[] = [];
  for (let i = 0; i < 5; i++) {
    report(local(a, 'connect_refused'));
    t.equal(tracker.state(a), 'ejected');
    const d = tracker.recoveryIn(a);
    durations.push(d);
    clock.tick(d - 1);
    t.equal(tracker.state(a), 'ejected', 'still ejected 1 ms before the end');
    clock.tick(1);
    t.equal(tracker.state(a), 'probation');
  }
  t.same(durations, [1000, 2000, 3000, 3500, 3500]);
  t.same(
    transitions.slice(0, 4).map((tr) => `${tr.from}>${tr.to}:${tr.cause}`),
    ['healthy>ejected:consecutive_local_origin', 'ejected>probation:recovered', 'probation>ejected:probation_failed', 'ejected>probation:recovered'],
  );
  t.equal(tracker.snapshot()[0].ejections, 5);
});

t.test('backoff decays while healthy', async (t) => {
  const { clock, a, tracker, report } = setup({ outlier: { baseEjectionTime: 1000, backoffDecay: 30_000 }, probation: { window: 1000 } });
  t.teardown(() => tracker.close());
  report(local(a, 'connect_refused'));
  clock.tick(1000 + 1000);
  t.equal(tracker.state(a), 'healthy');
  report(local(a, 'connect_refused'));
  t.equal(tracker.recoveryIn(a), 2000, 'ejected again soon after: second ejection');
  clock.tick(2000 + 1000 + 60_000);
  report(local(a, 'connect_refused'));
  t.equal(tracker.recoveryIn(a), 1000, 'a minute healthy forgot both earlier ejections');
});

t.test('jitter shortens the ejection by at most ejectionJitter, never beyond the cap', async (t) => {
  const o = healthOptions({ outlier: { baseEjectionTime: 2000, maxEjectionTime: 10_000, ejectionJitter: 0.25 } }).outlier;
  const random = seededRandom(42);
  for (let n = 1; n <= 8; n++) {
    const d = Math.min(2000 * n, 10_000);
    let lo = Infinity;
    let hi = 0;
    for (let i = 0; i < 200; i++) {
      const v = ejectionTime(o, n, random);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    t.ok(lo >= 0.75 * d && hi <= d, `n=${n}: ${lo.toFixed(0)}..${hi.toFixed(0)} within [${0.75 * d}, ${d}]`);
    t.ok(hi - lo > 0.2 * d, `n=${n}: the spread is used`);
  }
  t.equal(ejectionTime(o, 1, () => 0), 2000);
  t.equal(ejectionTime(o, 1, () => 0.5), 1750);

  const { a, tracker, report } = setup({ outlier: { ejectionJitter: 0.5 } }, () => 0.5);
  t.teardown(() => tracker.close());
  report(local(a, 'connect_refused'));
  t.equal(tracker.recoveryIn(a), 1500, 'the tracker draws jitter from the injected Random');
});
