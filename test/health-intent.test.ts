// Limits on what one failure removes, and operator intent, on simulated time (no sockets): health
// expiries that an NTP step cannot move, 429s that skip an endpoint only on the gateway's own
// credentials and only in a row, the outlier ejection cap, and drills as operator intent.
import t from 'tap';
import type { Endpoint } from '../src/registry/endpoint.js';
import { sendsOwnCredentials } from '../src/registry/endpoint.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { HealthTracker, type HealthTransition } from '../src/health/index.js';
import { healthOptions, type HealthConfigInput } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

/** Each endpoint in a region of its own. */
const endpoint = (id: string, headers: [string, string][] = []): Endpoint => testEndpoint(id, { region: id, headers });

function setup(count: number, options: HealthConfigInput = {}) {
  const clock = new FakeClock();
  const eps = Array.from({ length: count }, (_, i) => endpoint(`e${i}`));
  // random 0: no ejection jitter, so ejection times are exact.
  const tracker = new HealthTracker({ endpoints: eps, clock, random: () => 0, options: healthOptions({ probes: false, ...options }) });
  const transitions: HealthTransition[] = [];
  tracker.onTransition((tr) => transitions.push(tr));
  const refuse = (e: Endpoint): void => {
    tracker.attemptStarted(e);
    tracker.attemptEnded({ kind: 'local_origin', endpoint: e, failure: 'connect_refused', elapsedMs: 1 });
  };
  const limit = (e: Endpoint, sharedCredentials: boolean, retryAfterMs = 300_000): void => {
    tracker.attemptStarted(e);
    tracker.attemptEnded({ kind: 'rate_limited', endpoint: e, retryAfterMs, ttfbMs: 1, sharedCredentials });
  };
  const succeed = (e: Endpoint): void => {
    tracker.attemptStarted(e);
    tracker.attemptEnded({ kind: 'success', endpoint: e, status: 200, ttfbMs: 10 });
  };
  t.teardown(() => tracker.close());
  return { clock, eps, tracker, transitions, refuse, limit, succeed };
}

t.test('an NTP step of the wall clock neither lengthens nor shortens ejections, rate limits or probation', async (t) => {
  const { clock, eps, tracker, refuse, limit } = setup(2, { rateLimit: { consecutive: 1 } });
  const [a, b] = eps;

  // Backwards: on wall time, the ejection would last an hour longer.
  refuse(a);
  t.equal(tracker.state(a), 'ejected');
  clock.stepWall(-3_600_000);
  clock.tick(1999);
  t.equal(tracker.state(a), 'ejected', 'still ejected 1 ms before its 2 s');
  t.equal(tracker.snapshot()[0].until, clock.now() + 1, 'the snapshot speaks epoch ms of the stepped clock');
  clock.tick(1);
  t.equal(tracker.state(a), 'probation', 'out after exactly 2 s of monotonic time');

  // Forwards: on wall time, probation and a rate limit would be over at the next re-evaluation.
  limit(b, true, 5000);
  t.equal(tracker.state(b), 'rate_limited');
  clock.stepWall(3_600_000);
  tracker.uneject(a); // re-evaluates a's layers
  tracker.uneject(b);
  t.equal(tracker.state(a), 'probation', 'probation not cut short');
  t.ok(tracker.weightFactor(a) < 0.2, 'its ramp has not jumped to full weight');
  t.equal(tracker.state(b), 'rate_limited', 'the rate limit not cut short');
  t.equal(tracker.recoveryIn(b), 5000);
  clock.tick(5000);
  t.equal(tracker.state(b), 'healthy');

  // A peer's expiry travels as epoch ms; it is converted once, on receipt.
  clock.stepWall(-7_200_000);
  t.equal(tracker.applyRemote({ endpointId: 'e1', state: 'ejected', until: clock.now() + 3000 }), true);
  clock.tick(2999);
  t.equal(tracker.state(b), 'ejected');
  clock.tick(1);
  t.equal(tracker.state(b), 'probation', 'the remote ejection lasted its 3 s');
});

t.test('a 429 on the client\'s own credentials is that client\'s business: the endpoint stays in rotation', async (t) => {
  const { eps, tracker, transitions, limit } = setup(1);
  for (let i = 0; i < 10; i++) limit(eps[0], false);
  t.equal(tracker.state(eps[0]), 'healthy', 'ten 429s with Retry-After: 300 on pass-through credentials skip nothing');
  t.equal(tracker.isRoutable(eps[0]), true);
  t.same(transitions, [], 'no transition, so nothing is published to the fleet');
});

t.test('429s on the gateway\'s own credentials: skipped only after two in a row, for at most 30 s', async (t) => {
  const { eps, tracker, transitions, limit, succeed } = setup(1);
  const [a] = eps;
  limit(a, true);
  t.equal(tracker.state(a), 'healthy', 'one 429 skips nothing');
  succeed(a);
  limit(a, true);
  t.equal(tracker.state(a), 'healthy', 'an answer in between resets the count');
  limit(a, true);
  t.equal(tracker.state(a), 'rate_limited', 'two in a row skip it');
  t.equal(tracker.recoveryIn(a), 30_000, 'Retry-After: 300 is capped at the 30 s default');
  t.equal(transitions.at(-1)?.cause, 'rate_limited');
});

t.test('a peer\'s rate limit is capped like ours: no five-minute skip from one report', async (t) => {
  const { clock, eps, tracker } = setup(1);
  t.equal(tracker.applyRemote({ endpointId: 'e0', state: 'rate_limited', until: clock.now() + 300_000 }), true);
  t.equal(tracker.recoveryIn(eps[0]), 30_000, 'held for health.rateLimit.max (30 s), not 300 s');
});

t.test('sendsOwnCredentials: a credential header in the endpoint config', async (t) => {
  t.equal(sendsOwnCredentials(endpoint('x')), false);
  t.equal(sendsOwnCredentials(endpoint('x', [['x-tenant', 'a']])), false);
  for (const h of ['authorization', 'api-key', 'x-api-key']) t.equal(sendsOwnCredentials(endpoint('x', [[h, 'secret']])), true, h);
});

t.test('outlier detection ejects at most maxEjectionPercent of the endpoints and counts what it withheld', async (t) => {
  const { clock, eps, tracker, refuse } = setup(4);
  refuse(eps[0]);
  refuse(eps[1]);
  t.same(eps.map((e) => tracker.state(e)), ['ejected', 'ejected', 'healthy', 'healthy'], 'two of four ejected (50 %)');
  refuse(eps[2]);
  refuse(eps[2]);
  t.equal(tracker.state(eps[2]), 'healthy', 'a third ejection is withheld');
  t.equal(tracker.withheldEjections, 2, 'counted each time detection asked');
  tracker.drain(eps[3]);
  tracker.eject(eps[3], 'operator');
  refuse(eps[2]);
  t.equal(tracker.state(eps[2]), 'healthy', 'only outlier ejections use the quota, but an operator\'s do not free it');
  clock.tick(2000); // the first two ejections end
  refuse(eps[2]);
  t.equal(tracker.state(eps[2]), 'ejected', 'room again once an ejection ended');

  const pair = setup(2, { outlier: { maxEjectionPercent: 0 } });
  pair.refuse(pair.eps[0]);
  pair.refuse(pair.eps[1]);
  t.same(pair.eps.map((e) => pair.tracker.state(e)), ['ejected', 'healthy'], 'at least one may always be ejected');
  t.equal(pair.tracker.withheldEjections, 1);
});

t.test('a fire drill is operator intent: drained until it ends, and its end is no undrain', async (t) => {
  const { clock, eps, tracker, transitions } = setup(1);
  const [a] = eps;
  tracker.drill(a, clock.now() + 5000);
  t.equal(tracker.state(a), 'drained');
  t.equal(tracker.drained(a), true);
  t.match(tracker.snapshot()[0], { state: 'drained', cause: 'drill', until: clock.now() + 5000 });
  clock.stepWall(-600_000);
  clock.tick(5000);
  t.equal(tracker.drained(a), false, 'over after its 5 s, whatever the wall clock did');
  t.same(transitions.map((tr) => `${tr.from}>${tr.to}:${tr.cause}`), ['healthy>drained:drill', 'drained>healthy:recovered']);

  tracker.drain(a, 'operator');
  tracker.drill(a, clock.now() + 1000);
  clock.tick(1000);
  t.equal(tracker.state(a), 'drained', 'a drill never shortens a drain');
});
