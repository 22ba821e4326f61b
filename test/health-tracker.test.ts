// The health facade on simulated time: probation trickle and re-ejection, recovery to healthy, 429s,
// drains, reports from other gateways, transitions with causes, snapshots and close().
import t from 'tap';
import type { Endpoint } from '../src/registry/endpoint.js';
import type { HealthView } from '../src/routing/health-view.js';
import { FakeClock } from '../src/util/fake-clock.js';
import {
  HEALTH_STATES,
  HealthTracker,
  TRANSITION_CAUSES,
  type AttemptOutcome,
  type HealthTransition,
} from '../src/health/index.js';
import { healthOptions, type HealthConfigInput } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

function setup(options: HealthConfigInput = {}) {
  const clock = new FakeClock();
  const random = (): number => 0;
  const a = testEndpoint('a');
  const b = testEndpoint('b', { region: 'us' });
  const tracker = new HealthTracker({ endpoints: [a, b], clock, random, options: healthOptions({ probes: false, ...options }) });
  const transitions: HealthTransition[] = [];
  tracker.onTransition((tr) => transitions.push(tr));
  const refuse = (e: Endpoint): void => {
    tracker.attemptStarted(e);
    tracker.attemptEnded({ kind: 'local_origin', endpoint: e, failure: 'connect_refused', elapsedMs: 1 });
  };
  const succeed = (e: Endpoint, ttfbMs = 100): void => {
    tracker.attemptStarted(e);
    tracker.attemptEnded({ kind: 'success', endpoint: e, status: 200, ttfbMs });
  };
  const steps = () => transitions.map((tr) => `${tr.from}>${tr.to}:${tr.cause}`);
  return { clock, a, b, tracker, transitions, refuse, succeed, steps };
}

t.test('state and cause names live in one table', async (t) => {
  t.same([...HEALTH_STATES], ['healthy', 'probation', 'ejected', 'rate_limited', 'drained']);
  for (const c of ['consecutive_5xx', 'consecutive_local_origin', 'failure_rate', 'probe_failed', 'probe_recovered', 'recovered', 'breaker_open', 'rate_limited', 'drained', 'remote', 'operator'])
    t.ok((TRANSITION_CAUSES as readonly string[]).includes(c), c);
});

t.test('probation: a trickle ramping to full weight, then healthy', async (t) => {
  const { clock, a, b, tracker, transitions, refuse, succeed, steps } = setup({ probation: { window: 10_000, minWeight: 0.1, maxConcurrent: 2 } });
  t.teardown(() => tracker.close());
  t.equal(tracker.isRoutable(a), true);
  t.equal(tracker.weightFactor(a), 1);
  refuse(a);
  t.equal(tracker.weightFactor(a), 0);
  clock.tick(2000);
  t.equal(tracker.state(a), 'probation');
  t.same(transitions.at(-1), { endpointId: 'a', region: 'eu', from: 'ejected', to: 'probation', cause: 'recovered', at: clock.now(), until: clock.now() + 10_000 });
  t.equal(tracker.weightFactor(a), 0.1, 'the picker gives it 10% of its weight');
  t.equal(tracker.isRoutable(a), true);
  clock.tick(5000);
  t.equal(tracker.weightFactor(a), 0.55, 'ramping linearly');
  tracker.attemptStarted(a);
  tracker.attemptStarted(a);
  t.equal(tracker.inflight(a), 2);
  t.equal(tracker.isRoutable(a), false, 'at most maxConcurrent in flight in probation');
  tracker.attemptEnded({ kind: 'success', endpoint: a, status: 200, ttfbMs: 80 });
  t.equal(tracker.isRoutable(a), true);
  tracker.attemptEnded({ kind: 'cancelled', endpoint: a });
  succeed(a);
  t.equal(tracker.state(a), 'probation', 'successes do not cut probation short');
  clock.tick(5000);
  t.equal(tracker.state(a), 'healthy');
  t.equal(tracker.weightFactor(a), 1);
  for (let i = 0; i < 10; i++) tracker.attemptStarted(a);
  t.equal(tracker.isRoutable(a), true, 'no concurrency cap once healthy');
  t.same(steps(), ['healthy>ejected:consecutive_local_origin', 'ejected>probation:recovered', 'probation>healthy:recovered']);
  t.equal(tracker.state(b), 'healthy', 'the other endpoint never moved');
});

t.test('a failure in probation re-ejects at once, with the backed-off time', async (t) => {
  const { clock, a, tracker, transitions, steps } = setup();
  t.teardown(() => tracker.close());
  const fail = (o: AttemptOutcome): void => {
    tracker.attemptStarted(a);
    tracker.attemptEnded(o);
  };
  fail({ kind: 'upstream_5xx', endpoint: a, status: 503, ttfbMs: 1 });
  fail({ kind: 'upstream_5xx', endpoint: a, status: 503, ttfbMs: 1 });
  fail({ kind: 'upstream_5xx', endpoint: a, status: 503, ttfbMs: 1 });
  t.equal(tracker.recoveryIn(a), 2000);
  clock.tick(2000);
  t.equal(tracker.state(a), 'probation');
  t.equal(tracker.recoveryIn(a), 0);
  fail({ kind: 'upstream_5xx', endpoint: a, status: 502, ttfbMs: 1 }); // one 5xx is enough in probation
  t.equal(tracker.state(a), 'ejected');
  t.same(transitions.at(-1), { endpointId: 'a', region: 'eu', from: 'probation', to: 'ejected', cause: 'probation_failed', at: clock.now(), until: clock.now() + 4000 });
  clock.tick(4000);
  fail({ kind: 'local_origin', endpoint: a, failure: 'reset', elapsedMs: 1 });
  t.equal(tracker.recoveryIn(a), 6000, 'third ejection: 3 × base');
  t.same(steps(), [
    'healthy>ejected:consecutive_gateway_failure',
    'ejected>probation:recovered',
    'probation>ejected:probation_failed',
    'ejected>probation:recovered',
    'probation>ejected:probation_failed',
  ]);
});

t.test('429: rate-limited for Retry-After, not ejected, not a failure', async (t) => {
  const { clock, a, tracker, transitions, steps } = setup({ rateLimit: { min: 1000, max: 60_000, consecutive: 1 } });
  t.teardown(() => tracker.close());
  tracker.attemptStarted(a);
  tracker.attemptEnded({ kind: 'rate_limited', endpoint: a, retryAfterMs: 5000, ttfbMs: 3, sharedCredentials: true });
  t.equal(tracker.state(a), 'rate_limited');
  t.equal(tracker.isRoutable(a), false);
  t.equal(tracker.recoveryIn(a), 5000);
  t.equal(tracker.inflight(a), 0);
  t.same(transitions.at(-1), { endpointId: 'a', region: 'eu', from: 'healthy', to: 'rate_limited', cause: 'rate_limited', at: clock.now(), until: clock.now() + 5000 });
  const snap = tracker.snapshot()[0];
  t.equal(snap.ejections, 0);
  t.equal(snap.consecutiveLocalOrigin + snap.consecutive5xx, 0);
  t.equal(snap.samples, 0, 'a 429 is not a latency sample');
  clock.tick(2000);
  tracker.attemptEnded({ kind: 'rate_limited', endpoint: a, retryAfterMs: 0, ttfbMs: 3, sharedCredentials: true });
  t.equal(tracker.recoveryIn(a), 3000, 'a shorter Retry-After does not shorten the skip');
  clock.tick(3000);
  t.equal(tracker.state(a), 'healthy', 'back without probation');
  tracker.attemptEnded({ kind: 'rate_limited', endpoint: a, retryAfterMs: 3_600_000, ttfbMs: 3, sharedCredentials: true });
  t.equal(tracker.recoveryIn(a), 60_000, 'capped at rateLimit.max');
  t.same(steps(), ['healthy>rate_limited:rate_limited', 'rate_limited>healthy:recovered', 'healthy>rate_limited:rate_limited']);
});

t.test('drain and undrain; layers do not lose each other', async (t) => {
  const { clock, a, tracker, refuse, steps } = setup();
  t.teardown(() => tracker.close());
  tracker.drain(a);
  t.equal(tracker.state(a), 'drained');
  t.equal(tracker.isRoutable(a), false);
  t.equal(tracker.recoveryIn(a), Infinity);
  refuse(a);
  t.equal(tracker.state(a), 'drained', 'drained outranks ejected');
  clock.tick(5000); // the ejection ends while drained
  tracker.undrain(a);
  t.equal(tracker.state(a), 'probation', 'an ejection that ended while drained still leads through probation');
  tracker.drain(a, 'operator');
  tracker.undrain(a);
  t.equal(tracker.state(a), 'probation', 'probation clock kept running');
  t.same(steps(), ['healthy>drained:drained', 'drained>probation:undrained', 'probation>drained:operator', 'drained>probation:undrained']);
  t.equal(tracker.snapshot()[0].recoveryInMs, 0);
});

t.test('operator eject / uneject', async (t) => {
  const { clock, a, tracker, steps } = setup();
  t.teardown(() => tracker.close());
  tracker.eject(a, 'operator', clock.now() + 30_000);
  t.equal(tracker.recoveryIn(a), 30_000);
  t.equal(tracker.snapshot()[0].ejections, 0, 'an explicit expiry does not count toward backoff');
  tracker.uneject(a);
  t.equal(tracker.state(a), 'probation');
  tracker.eject(a);
  t.equal(tracker.recoveryIn(a), 2000, 'no expiry: the backed-off ejection time');
  t.same(steps(), ['healthy>ejected:operator', 'ejected>probation:operator', 'probation>ejected:operator']);
});

t.test('reports from other gateways', async (t) => {
  const { clock, a, b, tracker, refuse, steps } = setup();
  t.teardown(() => tracker.close());
  t.equal(tracker.applyRemote({ endpointId: 'a', state: 'ejected', until: clock.now() + 3000 }), true);
  t.equal(tracker.state(a), 'ejected');
  t.equal(tracker.snapshot()[0].cause, 'remote');
  t.equal(tracker.applyRemote({ endpointId: 'a', state: 'healthy' }), true);
  t.equal(tracker.state(a), 'probation', 'a remote recovery lifts a remote ejection, through probation');
  refuse(a);
  tracker.applyRemote({ endpointId: 'a', state: 'healthy' });
  t.equal(tracker.state(a), 'ejected', 'never a local ejection');
  t.equal(tracker.applyRemote({ endpointId: 'b', state: 'rate_limited', until: clock.now() + 1000 }), true);
  t.equal(tracker.state(b), 'rate_limited');
  clock.tick(1000);
  t.equal(tracker.state(b), 'healthy', 'remote reports expire');
  t.equal(tracker.applyRemote({ endpointId: 'b', state: 'drained', until: clock.now() + 60_000 }), true);
  t.equal(tracker.recoveryIn(b), 60_000);
  tracker.applyRemote({ endpointId: 'b', state: 'healthy' });
  t.equal(tracker.state(b), 'healthy');
  t.equal(tracker.applyRemote({ endpointId: 'b', state: 'ejected', until: clock.now() }), false, 'expired on arrival');
  t.equal(tracker.applyRemote({ endpointId: 'zz', state: 'healthy' }), false, 'unknown endpoint');
  t.same(steps().slice(0, 3), ['healthy>ejected:remote', 'ejected>probation:remote', 'probation>ejected:probation_failed']);
});

t.test('snapshot is plain JSON; listeners can unsubscribe and cannot break tracking', async (t) => {
  const { clock, a, tracker, refuse, succeed } = setup();
  t.teardown(() => tracker.close());
  const seen: string[] = [];
  const off = tracker.onTransition((tr) => seen.push(tr.to));
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  tracker.onTransition(() => {
    throw new Error('telemetry bug');
  });
  succeed(a, 120);
  tracker.drain(a);
  off();
  tracker.undrain(a);
  refuse(a);
  t.same(seen, ['drained']);
  t.equal(tracker.state(a), 'ejected');
  await new Promise((r) => setImmediate(r));
  t.ok(warnings.includes('telemetry bug'), 'a throwing listener becomes a process warning');
  const snap = tracker.snapshot();
  t.same(JSON.parse(JSON.stringify(snap)), snap);
  t.match(snap[0], { id: 'a', region: 'eu', state: 'ejected', cause: 'consecutive_local_origin', until: clock.now() + 2000, recoveryInMs: 2000, weightFactor: 0, ewmaMs: 100, samples: 0, /* forgotten on ejection */ inflight: 0, ejections: 1, breaker: 'closed', probe: 'off' });
  tracker.drain(a);
  t.equal(tracker.snapshot()[0].recoveryInMs, null, 'Infinity becomes null');
  t.equal(tracker.snapshot()[1].cause, null);
});

t.test('close() clears every timer and stops tracking', async (t) => {
  const { clock, a, b, tracker, refuse } = setup({ rateLimit: { consecutive: 1 } });
  refuse(a);
  tracker.attemptEnded({ kind: 'rate_limited', endpoint: b, retryAfterMs: 9000, ttfbMs: 1, sharedCredentials: true });
  t.ok(clock.pending >= 3, 'two expiries and the breaker bucket rotation');
  await tracker.close();
  t.equal(clock.pending, 0);
  tracker.drain(a);
  tracker.attemptEnded({ kind: 'local_origin', endpoint: b, failure: 'connect_refused', elapsedMs: 1 });
  t.equal(clock.pending, 0, 'no timer after close');
  await tracker.close();
});

t.test('unknown endpoints are never routable', async (t) => {
  const { tracker } = setup();
  t.teardown(() => tracker.close());
  const view: HealthView = tracker; // the picker's contract, checked at compile time
  t.equal(view.isRoutable(testEndpoint('a')), true);
  const x = testEndpoint('x');
  t.equal(tracker.isRoutable(x), false);
  t.equal(tracker.state(x), undefined);
  t.equal(tracker.score(x), Infinity);
  t.equal(tracker.recoveryIn(x), Infinity);
  tracker.attemptStarted(x);
  tracker.attemptEnded({ kind: 'success', endpoint: x, status: 200, ttfbMs: 1 });
  t.equal(tracker.inflight(x), 0);
});

t.test('attempts stuck in a hang that time out after the ejection do not re-poison its latency', async (t) => {
  const { tracker, a, b, succeed, clock } = setup();
  succeed(b, 20);
  succeed(a, 20);
  const hung = (): void => tracker.attemptStarted(a);
  const timedOut = (): void => tracker.attemptEnded({ kind: 'local_origin', endpoint: a, failure: 'first_byte_timeout', elapsedMs: 1000 });
  hung();
  hung();
  hung(); // three requests stuck in the hang
  clock.tick(1000);
  timedOut();
  timedOut(); // the second consecutive local-origin failure ejects
  t.equal(tracker.state(a), 'ejected');
  timedOut(); // the third ends after the ejection
  const snap = tracker.snapshot().find((s) => s.id === 'a');
  t.equal(snap?.samples, 0, 'no sample from the broken period survives the ejection');
  t.equal(snap?.inflight, 0);
  t.ok(tracker.score(a) < 100, `neutral estimate (${tracker.score(a)} ms), not the 1 s timeout`);
});

t.test('a hedge loser still waiting counts as a lower bound of its latency', async (t) => {
  const { tracker, a, b, succeed } = setup();
  succeed(a, 20);
  succeed(b, 20);
  tracker.attemptStarted(a);
  tracker.attemptEnded({ kind: 'cancelled', endpoint: a, ttfbAtLeastMs: 250 });
  t.ok(tracker.score(a) >= 250, `score ${tracker.score(a)} reflects the 250 ms wait`);
  t.ok(tracker.score(b) < 30, 'the winner is unaffected');
  tracker.attemptStarted(b);
  tracker.attemptEnded({ kind: 'cancelled', endpoint: b }); // client gone: says nothing
  t.ok(tracker.score(b) < 30);
});

t.test('latency is forgotten however the endpoint is ejected (here by a peer)', async (t) => {
  const { tracker, a, succeed, clock } = setup();
  succeed(a, 400);
  t.ok(tracker.score(a) >= 400);
  tracker.applyRemote({ endpointId: 'a', state: 'ejected', until: clock.now() + 1000 });
  t.equal(tracker.state(a), 'ejected');
  t.equal(tracker.snapshot().find((s) => s.id === 'a')?.samples, 0, 'samples from before the ejection are gone');
});

t.test('configure (a reload): new thresholds and probation apply now, state kept; probes, path and breakers stay', async (t) => {
  const { clock, a, b, tracker, refuse, succeed } = setup({ outlier: { consecutiveLocalOriginFailures: 3, consecutiveConnectRefused: 3, baseEjectionTime: 1000 }, probation: { window: 60_000 } });
  t.teardown(() => tracker.close());
  refuse(a);
  refuse(a);
  t.equal(tracker.state(a), 'healthy', 'two refusals of three');
  tracker.configure(healthOptions({ probes: true, path: '/other', outlier: { consecutiveLocalOriginFailures: 1, consecutiveConnectRefused: 1, baseEjectionTime: 1000 }, probation: { window: 60_000 }, breaker: { resetTimeout: 1 } }));
  t.equal(tracker.options.probes, false, 'probes on/off is not live');
  t.equal(tracker.options.path, '/health', 'nor the probe path');
  t.equal(tracker.options.breaker.resetTimeout, 10_000, 'nor the breakers');
  refuse(b);
  t.equal(tracker.state(b), 'ejected', 'one refusal ejects under the new threshold');
  clock.tick(1000);
  t.equal(tracker.state(b), 'probation');
  clock.tick(5000);
  succeed(b);
  t.equal(tracker.state(b), 'probation', 'in probation for 60 s');
  tracker.configure(healthOptions({ outlier: { consecutiveLocalOriginFailures: 1, consecutiveConnectRefused: 1, baseEjectionTime: 1000 }, probation: { window: 2000 } }));
  t.equal(tracker.state(b), 'healthy', 'a probation in course ends by the shorter window at once');
});

t.test('configure (a reload): a shorter probe interval applies now, not after the old wait', async (t) => {
  const clock = new FakeClock();
  const a = testEndpoint('a');
  let probes = 0;
  const tracker = new HealthTracker({
    endpoints: [a],
    clock,
    random: () => 0.5,
    options: healthOptions({ interval: 60_000, jitter: 0 }),
    probe: async () => {
      probes++;
      return 200;
    },
  });
  t.teardown(() => tracker.close());
  tracker.start();
  clock.tick(30_000); // the first probe, at half an interval
  await Promise.resolve();
  t.equal(probes, 1);
  tracker.configure(healthOptions({ interval: 1000, jitter: 0 }));
  clock.tick(1000);
  await Promise.resolve();
  t.equal(probes, 2, 'rescheduled within the new interval');
  clock.tick(1000);
  await Promise.resolve();
  t.equal(probes, 3, 'and every new interval after');
});
