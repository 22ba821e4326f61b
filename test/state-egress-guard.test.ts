/**
 * Trust rule 1: a gateway whose egress looks broken does not publish ejections.
 */
import t from 'tap';
import { EgressGuard, shouldPublishEjection } from '../src/state/egress-guard.js';
import { FleetEventSource } from '../src/state/fleet-event.js';
import { FakeClock } from '../src/util/fake-clock.js';

t.test('shouldPublishEjection', async (t) => {
  t.ok(shouldPublishEjection(0, 10, 0.5));
  t.ok(shouldPublishEjection(5, 10, 0.5), 'half is still believable');
  t.notOk(shouldPublishEjection(6, 10, 0.5), 'most endpoints failing from here alone: egress');
  t.notOk(shouldPublishEjection(1, 1), 'a single endpoint cannot be told apart from our own egress');
  t.notOk(shouldPublishEjection(0, 0), 'no endpoints: nothing to publish');
  t.ok(shouldPublishEjection(3, 4, 0.75));
});

t.test('EgressGuard withholds accusations only, while egress looks broken', async (t) => {
  let ejected = 2;
  const guard = new EgressGuard({ totalEndpoints: () => 4, localEjectedCount: () => ejected });
  const src = new FleetEventSource('gw', new FakeClock());
  const events = [
    src.create('ejected', 'ep-1', 'x', 1000),
    src.create('ejected', 'ep-2', 'breaker_open', 1000),
    src.create('rate_limited', 'ep-3', 'x', 1000),
    src.create('recovered', 'ep-4', 'x', 1000),
    src.create('drained', 'ep-4', 'operator', 1000),
    src.create('drill', 'ep-4', 'drill', 1000),
  ];
  t.notOk(guard.broken());
  t.equal(guard.filter(events).length, 6);
  ejected = 3;
  t.ok(guard.broken());
  t.same(guard.filter(events).map((e) => e.type), ['rate_limited', 'recovered', 'drained', 'drill']);
  t.notOk(guard.allows(events[0]!));
  t.ok(guard.allows(events[3]!));
});
