// The per-endpoint opossum breaker: opens on the failure percentage once the volume threshold is
// reached, rolls its window on the injected clock through the shared rotator, makes the endpoint
// non-routable while open, and shuts down on close(). Opossum's reset timer (open → half-open) is its
// own real timer, which no fake clock can advance: the one test that needs it uses a 20 ms reset and
// waits for the transition event.
import t from 'tap';
import type { Endpoint } from '../src/registry/endpoint.js';
import { FakeClock } from '../src/util/fake-clock.js';
import {
  BucketRotator,
  EndpointBreaker,
  HealthTracker,
  type AttemptOutcome,
  type BreakerState,
  type HealthTransition,
} from '../src/health/index.js';
import { healthOptions } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const a = testEndpoint('a');
const breakerOptions = healthOptions({ breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, window: 10_000, buckets: 10 } }).breaker;

t.test('opens once the window holds volumeThreshold attempts and the failure rate exceeds the threshold', async (t) => {
  const clock = new FakeClock();
  const rotator = new BucketRotator(clock, breakerOptions);
  const states: BreakerState[] = [];
  const breaker = new EndpointBreaker({ endpoint: a, options: breakerOptions, rotator, onStateChange: (s) => states.push(s) });
  t.teardown(() => {
    breaker.close();
    rotator.close();
  });
  for (let i = 0; i < 4; i++) breaker.record(false);
  t.equal(breaker.state, 'closed', 'four failures are below the volume threshold');
  breaker.record(false);
  t.equal(breaker.state, 'open', 'opens in the same tick as the fifth failure');
  t.equal(breaker.routable, false);
  t.same(states, ['open']);
  breaker.record(false);
  breaker.record(true);
  await flush();
  t.same(breaker.counts(), { fires: 5, failures: 5, successes: 0 }, 'outcomes while open are dropped, not counted as rejections');
});

t.test('the rolling window turns on the injected clock; successes keep the rate down', async (t) => {
  const clock = new FakeClock();
  const rotator = new BucketRotator(clock, breakerOptions);
  const breaker = new EndpointBreaker({ endpoint: a, options: breakerOptions, rotator });
  t.teardown(() => {
    breaker.close();
    rotator.close();
  });
  for (let i = 0; i < 4; i++) breaker.record(false);
  clock.tick(10_000);
  t.same(breaker.counts(), { fires: 0, failures: 0, successes: 0 }, 'old buckets rotated out');
  breaker.record(false);
  t.equal(breaker.state, 'closed');
  for (let i = 0; i < 6; i++) breaker.record(true);
  await flush();
  for (let i = 0; i < 4; i++) breaker.record(false);
  t.equal(breaker.state, 'closed', '5 of 11 failed: not above 50%');
  breaker.record(false);
  t.equal(breaker.state, 'closed', '6 of 12: exactly 50% is not above');
  breaker.record(false);
  t.equal(breaker.state, 'open', '7 of 13');
  t.equal(clock.pending, 1, 'one shared rotation timer, whatever the number of breakers');
});

t.test('close() shuts the breaker down and detaches it from the rotator', async (t) => {
  const clock = new FakeClock();
  const rotator = new BucketRotator(clock, breakerOptions);
  const breakers = Array.from({ length: 50 }, (_, i) => new EndpointBreaker({ endpoint: testEndpoint(`e${i}`), options: breakerOptions, rotator }));
  t.equal(rotator.controller.listenerCount('rotate'), 50);
  t.equal(clock.pending, 1);
  for (const b of breakers) b.close();
  t.equal(rotator.controller.listenerCount('rotate'), 0);
  breakers[0].record(false);
  breakers[0].close();
  rotator.close();
  t.equal(clock.pending, 0);
});

const fail = (e: Endpoint): AttemptOutcome => ({ kind: 'upstream_5xx', endpoint: e, status: 503, ttfbMs: 2 });

t.test('tracker: an open breaker makes the endpoint non-routable (cause breaker_open)', async (t) => {
  const clock = new FakeClock();
  const tracker = new HealthTracker({
    endpoints: [a],
    clock,
    random: () => 0,
    options: healthOptions({ probes: false, outlier: { consecutive5xx: 1000, consecutiveGatewayFailure: 1000 }, breaker: { volumeThreshold: 4, resetTimeout: 60_000 } }),
  });
  t.teardown(() => tracker.close());
  const transitions: HealthTransition[] = [];
  tracker.onTransition((tr) => transitions.push(tr));
  for (let i = 0; i < 3; i++) {
    tracker.attemptStarted(a);
    tracker.attemptEnded(fail(a));
  }
  t.equal(tracker.isRoutable(a), true);
  tracker.attemptStarted(a);
  tracker.attemptEnded(fail(a));
  t.equal(tracker.isRoutable(a), false);
  t.match(tracker.snapshot()[0], { state: 'ejected', cause: 'breaker_open', breaker: 'open', recoveryInMs: 60_000 });
  t.same(transitions, [{ endpointId: 'a', region: 'eu', from: 'healthy', to: 'ejected', cause: 'breaker_open', at: clock.now(), until: clock.now() + 60_000 }]);
  t.equal(tracker.snapshot()[0].ejections, 0, 'the breaker has its own reset time, not the outlier backoff');
});

t.test('tracker: half-open is probation; a failed trial re-opens, a good one closes', async (t) => {
  const clock = new FakeClock();
  const tracker = new HealthTracker({
    endpoints: [a],
    clock,
    random: () => 0,
    options: healthOptions({ probes: false, outlier: { consecutive5xx: 1000, consecutiveGatewayFailure: 1000 }, breaker: { volumeThreshold: 2, resetTimeout: 20 } }),
  });
  t.teardown(() => tracker.close());
  // Opossum's reset timer is unref'd: hold the event loop open while waiting for it.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const next = (): Promise<HealthTransition> =>
    new Promise((resolve) => {
      const off = tracker.onTransition((tr) => {
        off();
        resolve(tr);
      });
    });
  const report = (o: AttemptOutcome): void => {
    tracker.attemptStarted(o.endpoint);
    tracker.attemptEnded(o);
  };
  report(fail(a));
  report(fail(a));
  t.equal(tracker.state(a), 'ejected');
  let tr = await next(); // opossum's own 20 ms reset timer
  t.match(tr, { from: 'ejected', to: 'probation', cause: 'breaker_half_open' });
  t.equal(tracker.snapshot()[0].breaker, 'half_open');
  t.equal(tracker.isRoutable(a), true, 'probation admits a trickle');
  report(fail(a));
  t.match(tracker.snapshot()[0], { state: 'ejected', cause: 'probation_failed', breaker: 'open' }, 'the trial failed: ejected and re-opened');
  // Back in probation once both the backed-off ejection (fake clock) and the breaker's reset (real
  // 20 ms) are over, whichever ends last.
  const back = next();
  clock.tick(2000);
  tr = await back;
  t.match(tr, { from: 'ejected', to: 'probation' });
  t.ok(tr.cause === 'breaker_half_open' || tr.cause === 'recovered', tr.cause);
  t.equal(tracker.snapshot()[0].breaker, 'half_open');
  report({ kind: 'success', endpoint: a, status: 200, ttfbMs: 40 });
  await flush();
  t.match(tracker.snapshot()[0], { state: 'probation', breaker: 'closed' }, 'the trial passed: closed, probation ramps on');
});
