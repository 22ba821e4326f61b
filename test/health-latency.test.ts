// Peak-EWMA latency and in-flight counts on simulated time: jumps up on a slow sample, decays down
// over time, drifts back to neutral when idle, and unmeasured endpoints start neutral.
import t from 'tap';
import type { Endpoint } from '../src/registry/endpoint.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { FALLBACK_LATENCY_MS, HealthTracker, LatencyTracker } from '../src/health/index.js';
import { healthOptions } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

const [a, b, c] = [testEndpoint('a'), testEndpoint('b'), testEndpoint('c')];

/** One attempt to `e` that took `ttfbMs` to its first byte: the tracker's only way to learn a sample. */
function observe(lat: LatencyTracker, e: Endpoint, ttfbMs: number): void {
  lat.attemptStarted(e);
  lat.attemptEnded(e, ttfbMs);
}

t.test('peak: a slow sample replaces the estimate at once', async (t) => {
  const clock = new FakeClock();
  const lat = new LatencyTracker([a, b], clock, { decay: 10_000, initial: 100 });
  t.equal(lat.ewma(a), 100, 'neutral before any sample');
  observe(lat, a, 50);
  t.equal(lat.ewma(a), 50, 'the first sample is the estimate');
  clock.tick(10);
  observe(lat, a, 800);
  t.equal(lat.ewma(a), 800, 'jumped to the peak');
  clock.tick(10);
  observe(lat, a, 790);
  t.ok(lat.ewma(a) > 799, 'a slightly faster sample right after barely moves it');
});

t.test('decay: faster samples pull the estimate down with time constant `decay`', async (t) => {
  const clock = new FakeClock();
  const lat = new LatencyTracker([a], clock, { decay: 10_000, initial: 100 });
  observe(lat, a, 1000);
  clock.tick(10_000);
  observe(lat, a, 200);
  const w = Math.exp(-1);
  t.equal(Math.round(lat.ewma(a)), Math.round(1000 * w + 200 * (1 - w)), 'one time constant: weight e^-1 on the old estimate');
  let prev = lat.ewma(a);
  for (let i = 0; i < 20; i++) {
    clock.tick(2000);
    observe(lat, a, 200);
    t.ok(lat.ewma(a) < prev, 'keeps falling');
    prev = lat.ewma(a);
  }
  t.ok(prev < 210, `converges on the new latency (${prev.toFixed(1)})`);
});

t.test('idle: the estimate drifts back to neutral so a once-slow endpoint is retried', async (t) => {
  const clock = new FakeClock();
  const lat = new LatencyTracker([a], clock, { decay: 10_000, initial: 100 });
  observe(lat, a, 5000);
  clock.tick(10_000);
  t.equal(Math.round(lat.ewma(a)), Math.round(5000 * Math.exp(-1) + 100 * (1 - Math.exp(-1))));
  clock.tick(100_000);
  t.ok(Math.abs(lat.ewma(a) - 100) < 1, 'back to neutral');
});

t.test('neutral estimate: the median of measured endpoints', async (t) => {
  const clock = new FakeClock();
  const lat = new LatencyTracker([a, b, c], clock, { decay: 10_000, initial: 'median' });
  t.equal(lat.ewma(c), FALLBACK_LATENCY_MS, 'nothing measured yet');
  observe(lat, a, 400);
  t.equal(lat.ewma(c), 400);
  observe(lat, b, 600);
  t.equal(lat.ewma(c), 500, 'median of 400 and 600');
  t.equal(lat.score(c), 500, 'an unmeasured endpoint is not herded to');
  t.equal(lat.samples(c), 0);
});

t.test('in-flight counts and the load score', async (t) => {
  const clock = new FakeClock();
  const lat = new LatencyTracker([a], clock, { decay: 10_000, initial: 100 });
  lat.attemptStarted(a);
  lat.attemptStarted(a);
  lat.attemptStarted(a);
  t.equal(lat.inflight(a), 3);
  t.equal(lat.score(a), 400, 'ewma × (inflight + 1)');
  lat.attemptEnded(a, 200);
  t.equal(lat.inflight(a), 2);
  t.equal(lat.score(a), 600);
  lat.attemptEnded(a);
  lat.attemptEnded(a);
  lat.attemptEnded(a);
  t.equal(lat.inflight(a), 0, 'never below zero');
  observe(lat, a, Number.NaN);
  observe(lat, a, -5);
  t.equal(lat.samples(a), 1, 'nonsense samples are ignored');
});

t.test('the tracker feeds time to first byte, not fast errors', async (t) => {
  const clock = new FakeClock();
  const tracker = new HealthTracker({ endpoints: [a], clock, random: () => 0, options: healthOptions({ probes: false, latency: { initial: 100 } }) });
  t.teardown(() => tracker.close());
  tracker.attemptStarted(a);
  t.equal(tracker.inflight(a), 1);
  t.equal(tracker.score(a), 200);
  tracker.attemptEnded({ kind: 'success', endpoint: a, status: 200, ttfbMs: 300 });
  t.equal(tracker.score(a), 300);
  tracker.attemptStarted(a);
  tracker.attemptEnded({ kind: 'upstream_5xx', endpoint: a, status: 500, ttfbMs: 1 });
  t.equal(tracker.snapshot()[0].samples, 1, 'a fast 5xx is not a sample');
  tracker.attemptStarted(a);
  tracker.attemptEnded({ kind: 'local_origin', endpoint: a, failure: 'first_byte_timeout', elapsedMs: 30_000 });
  t.equal(tracker.score(a), 30_000, 'a first-byte timeout is a lower bound: the peak jumps to it');
  t.equal(tracker.inflight(a), 0);
});
