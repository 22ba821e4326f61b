/**
 * FleetView and the trust rules, on a FakeClock and without sockets: expiry and renewal, ordering,
 * the per-gateway cap with confirmation, authoritative drains and drills, snapshot reconciliation.
 */
import t from 'tap';
import { FleetEventSource, type FleetEvent, type FleetEventType } from '../src/state/fleet-event.js';
import { FleetView, MAX_REPORTING_GATEWAYS, type FleetViewOptions } from '../src/state/fleet-view.js';
import type { RemoteEndpointState } from '../src/state/trust-rules.js';
import { FakeClock } from '../src/util/fake-clock.js';

function setup(opts: Partial<FleetViewOptions> = {}) {
  const clock = new FakeClock();
  let total = 10;
  const view = new FleetView({ gatewayId: 'me', clock, totalEndpoints: () => total, ...opts });
  const changes: [string, RemoteEndpointState | undefined][] = [];
  view.onChange((id, s) => changes.push([id, s]));
  const gw = (id: string) => new FleetEventSource(id, clock);
  return { clock, view, changes, gw, setTotal: (n: number) => (total = n) };
}

t.test('a remote ejection applies, then expires at expiresAt on the clock', async (t) => {
  const { clock, view, changes, gw } = setup();
  const ev = gw('gw-a').create('ejected', 'ep-1', 'consecutive_5xx', 10_000);
  view.apply(ev);
  t.same(view.remoteState('ep-1'), { ejectedUntil: ev.expiresAt, drained: false, cause: 'consecutive_5xx', from: ['gw-a'] });
  clock.tick(9_999);
  t.ok(view.remoteState('ep-1'), 'still ejected just before expiresAt');
  clock.tick(1);
  t.equal(view.remoteState('ep-1'), undefined, 'expired');
  t.same(changes.map(([id, s]) => [id, s === undefined]), [['ep-1', false], ['ep-1', true]]);
  t.equal(clock.pending, 0, 'no timer once nothing is held');
});

t.test('a newer event renews; an older one is ignored; own events are ignored', async (t) => {
  const { clock, view, gw } = setup();
  const a = gw('gw-a');
  const first = a.create('ejected', 'ep-1', 'x', 5_000);
  clock.tick(1000);
  const second = a.create('ejected', 'ep-1', 'y', 5_000);
  view.apply(second);
  view.apply(first);
  t.equal(view.remoteState('ep-1')?.cause, 'y', 'the older event did not replace the newer one');
  t.equal(view.remoteState('ep-1')?.ejectedUntil, second.expiresAt);
  view.apply(gw('me').create('ejected', 'ep-2', 'x', 5_000));
  t.equal(view.remoteState('ep-2'), undefined);
});

t.test('a remote expiry is never trusted beyond maxRemoteTtlMs; refreshes renew it', async (t) => {
  const { clock, view, gw } = setup({ maxRemoteTtlMs: 30_000 });
  const ev = gw('gw-a').create('ejected', 'ep-1', 'x', 24 * 3600_000);
  view.apply(ev);
  t.equal(view.remoteState('ep-1')?.ejectedUntil, clock.now() + 30_000);
  clock.tick(20_000);
  view.applySnapshot([ev], clock.now()); // the refresh carries the same event again
  t.equal(view.remoteState('ep-1')?.ejectedUntil, clock.now() + 30_000, 'renewed by the refresh');
  clock.tick(30_000);
  t.equal(view.remoteState('ep-1'), undefined, 'gone when renewals stop');
});

t.test('recovered clears the ejection record only', async (t) => {
  const { view, gw } = setup();
  const a = gw('gw-a');
  view.apply(a.create('ejected', 'ep-1', 'breaker_open', 10_000));
  view.apply(a.create('rate_limited', 'ep-1', 'rate_limited', 10_000));
  view.apply(a.create('recovered', 'ep-1', 'probe_recovered', 10_000));
  t.equal(view.remoteState('ep-1')?.ejectedUntil, undefined, 'the ejection is over');
  t.ok(view.remoteState('ep-1')?.rateLimitedUntil, 'the rate limit, another record, still holds');
});

t.test('an operator uneject voids the ejection reports made before it, from any gateway, not later ones', async (t) => {
  const { clock, view, gw } = setup();
  const [a, b] = [gw('gw-a'), gw('gw-b')];
  view.apply(a.create('ejected', 'ep-1', 'consecutive_5xx', 60_000));
  view.apply(b.create('ejected', 'ep-1', 'breaker_open', 60_000));
  view.apply(a.create('rate_limited', 'ep-1', 'rate_limited', 60_000));
  t.equal(view.remoteState('ep-1')?.from.length, 2, 'confirmed by both');
  clock.tick(1000);
  const marker = gw('gw-ops').create('unejected', 'ep-1', 'fixed upstream', 60_000);
  view.apply(marker);
  const after = view.remoteState('ep-1');
  t.equal(after?.ejectedUntil, undefined, 'both earlier ejections no longer count');
  t.equal(after?.unejectedAt, marker.at, 'the marker is part of the state, for each gateway to act on once');
  t.ok(after?.rateLimitedUntil, 'a rate limit is another record: an uneject leaves it');
  t.same(view.summary().intents, [], 'a marker, not an intent in force');
  clock.tick(1000);
  view.apply(b.create('ejected', 'ep-1', 'consecutive_5xx', 60_000));
  t.ok(view.remoteState('ep-1')?.ejectedUntil, 'a gateway that ejects it again afterwards is believed');
  t.equal(view.remoteState('ep-1')?.cause, 'consecutive_5xx');
  // Only the marker left: a state with nothing in force but the marker, until the marker ends.
  const { view: v2, gw: gw2, clock: c2 } = setup();
  v2.apply(gw2('gw-ops').create('unejected', 'ep-2', 'operator', 60_000));
  t.match(v2.remoteState('ep-2'), { drained: false, cause: 'operator', from: [] });
  t.equal(v2.remoteState('ep-2')?.ejectedUntil, undefined);
  c2.tick(60_000);
  t.equal(v2.remoteState('ep-2'), undefined, 'gone at the marker\'s end');
});

t.test('one gateway may eject at most maxEjectShare of all endpoints unless others confirm', async (t) => {
  const { clock, view, gw, setTotal } = setup();
  const x = gw('gw-x');
  const ids = Array.from({ length: 8 }, (_, i) => `ep-${i}`);
  for (const id of ids) {
    view.apply(x.create('ejected', id, 'consecutive_local_origin', 60_000));
    clock.tick(10);
  }
  t.same([...view.states().keys()].sort(), ids.slice(0, 5), 'the five earliest reports apply');
  t.equal(view.summary().withheld, 3);
  // A second gateway confirms ep-7: it applies, and it uses gw-x's quota first.
  view.apply(gw('gw-y').create('ejected', 'ep-7', 'consecutive_5xx', 60_000));
  t.same([...view.states().keys()].sort(), ['ep-0', 'ep-1', 'ep-2', 'ep-3', 'ep-7']);
  t.same(view.remoteState('ep-7')?.from, ['gw-x', 'gw-y']);
  // Another ejection from the same gateway, for another cause, is not a confirmation.
  view.apply(x.create('ejected', 'ep-6', 'breaker_open', 60_000));
  t.equal(view.remoteState('ep-6'), undefined);
  // A bigger registry raises the cap once re-evaluated.
  setTotal(20);
  view.reevaluate();
  t.equal(view.states().size, 8);
  setTotal(1);
  view.reevaluate();
  t.same([...view.states().keys()], ['ep-7'], 'a lone endpoint is never ejected by one gateway alone');
});

t.test('rate limits are capped the same way, separately from ejections', async (t) => {
  const { clock, view, gw } = setup();
  const x = gw('gw-x');
  for (let i = 0; i < 10; i++) {
    view.apply(x.create('rate_limited', `ep-${i}`, 'rate_limited', 5_000));
    clock.tick(1);
  }
  t.equal(view.states().size, 5);
  t.equal(view.remoteState('ep-0')?.rateLimitedUntil, clock.now() - 10 + 5_000);
  t.equal(view.remoteState('ep-0')?.ejectedUntil, undefined);
});

t.test('drains are authoritative, and the latest drain or undrain from any gateway wins', async (t) => {
  const { clock, view, gw } = setup();
  const x = gw('gw-x');
  const y = gw('gw-y');
  for (let i = 0; i < 10; i++) view.apply(x.create('ejected', `ep-${i}`, 'x', 60_000)); // gw-x over quota
  const drained = x.create('drained', 'ep-9', 'operator', 60_000);
  view.apply(drained);
  t.same(view.remoteState('ep-9'), { drained: true, drainedUntil: drained.expiresAt, cause: 'operator', from: ['gw-x'] }, 'drain applies beyond the quota');
  clock.tick(10);
  view.apply(y.create('undrained', 'ep-9', 'operator', 60_000));
  t.equal(view.remoteState('ep-9')?.drained ?? false, false, 'a later undrain from another gateway lifts it');
  view.applySnapshot([drained], clock.now() - 1); // a stale refresh of the old drain
  t.equal(view.remoteState('ep-9')?.drained ?? false, false, 'an older drain does not come back');
  clock.tick(10);
  view.apply(x.create('drained', 'ep-9', 'maintenance', 60_000));
  t.equal(view.remoteState('ep-9')?.cause, 'maintenance');
});

t.test('drills eject whatever the quota, until their expiry', async (t) => {
  const { clock, view, gw } = setup();
  const x = gw('gw-x');
  for (let i = 0; i < 10; i++) view.apply(x.create('ejected', `ep-${i}`, 'x', 60_000));
  t.equal(view.remoteState('ep-9'), undefined, 'over quota');
  const drill = x.create('drill', 'ep-9', 'drill: region us down', 2_000);
  view.apply(drill);
  t.same(view.remoteState('ep-9'), { drillUntil: drill.expiresAt, drained: false, cause: 'drill: region us down', from: ['gw-x'] });
  clock.tick(2_000);
  t.equal(view.remoteState('ep-9'), undefined);
});

t.test('a snapshot load drops records absent from it that were received before it was requested', async (t) => {
  const { clock, view, gw } = setup();
  const a = gw('gw-a');
  const kept = a.create('ejected', 'ep-1', 'x', 60_000);
  const gone = a.create('ejected', 'ep-2', 'x', 60_000);
  view.apply(kept);
  view.apply(gone);
  clock.tick(100);
  const since = clock.now();
  clock.tick(5);
  const racing = a.create('ejected', 'ep-3', 'x', 60_000); // arrived while the load was in flight
  view.apply(racing);
  view.applySnapshot([kept], since);
  t.ok(view.remoteState('ep-1'));
  t.equal(view.remoteState('ep-2'), undefined, 'no longer asserted: dropped');
  t.ok(view.remoteState('ep-3'), 'newer than the load: kept');
});

t.test('listeners are isolated; close stops everything', async (t) => {
  const { clock, view, gw } = setup();
  view.onChange(() => {
    throw new Error('listener bug');
  });
  let calls = 0;
  const off = view.onChange(() => calls++);
  view.apply(gw('gw-a').create('ejected', 'ep-1', 'x', 1000));
  t.equal(calls, 1);
  off();
  view.apply(gw('gw-a').create('ejected', 'ep-2', 'x', 1000));
  t.equal(calls, 1, 'unsubscribed');
  t.ok(clock.pending > 0);
  view.close();
  t.equal(clock.pending, 0, 'expiry timer cleared');
  view.apply(gw('gw-a').create('ejected', 'ep-3', 'x', 1000));
  t.equal(clock.pending, 0);
});

t.test('attach applies a store’s events and snapshots, and detaches', async (t) => {
  const { clock, view, gw } = setup();
  let onEvent: ((e: FleetEvent) => void) | undefined;
  let onSnapshot: ((events: readonly FleetEvent[], since: number) => void) | undefined;
  const detach = view.attach({
    onEvent: (fn) => ((onEvent = fn), () => (onEvent = undefined)),
    onSnapshot: (fn) => ((onSnapshot = fn), () => (onSnapshot = undefined)),
  });
  const make = (type: FleetEventType, id: string) => gw('gw-a').create(type, id, 'x', 1000);
  onEvent?.(make('ejected', 'ep-1'));
  onSnapshot?.([make('ejected', 'ep-2')], clock.now() + 1);
  t.same([...view.states().keys()], ['ep-2'], 'the snapshot replaced what it lacks');
  detach();
  t.equal(onEvent, undefined);
  t.equal(onSnapshot, undefined);
});

t.test('intents: own ones apply; an open-ended drain holds until undrained; a load without it lifts it', async (t) => {
  const { clock, view, gw } = setup();
  const me = gw('me');
  const drain = me.create('drained', 'ep-1', 'maintenance', Number.POSITIVE_INFINITY);
  view.apply(drain);
  t.same(view.remoteState('ep-1'), { drained: true, drainedUntil: Number.POSITIVE_INFINITY, cause: 'maintenance', from: ['me'] }, 'this gateway\'s own intent applies');
  clock.tick(40 * 24 * 3_600_000);
  t.equal(view.remoteState('ep-1')?.drained, true, 'no end of its own');
  t.same(view.summary().intents, [{ kind: 'drain', endpointId: 'ep-1', by: 'me', reason: 'maintenance', at: drain.at }]);
  view.applySnapshot([], clock.now()); // the record is gone from the store (undrained, message lost)
  t.equal(view.remoteState('ep-1'), undefined);
  t.same(view.summary().intents, []);
});

t.test('bounded: reports and intents for unknown endpoints, and reports from too many gateways, are dropped', async (t) => {
  const { view, gw } = setup({ knownEndpoint: (id) => id.startsWith('ep-') });
  view.apply(gw('x').create('ejected', 'made-up', 'x', 10_000));
  view.apply(gw('x').create('drained', 'made-up', 'x', 10_000));
  t.equal(view.summary().records, 0);
  t.same(view.summary().intents, []);
  for (let i = 0; i < MAX_REPORTING_GATEWAYS + 50; i++) view.apply(gw(`ghost-${i}`).create('rate_limited', 'ep-1', 'x', 10_000));
  t.equal(view.summary().records, MAX_REPORTING_GATEWAYS, 'a flood of made-up gateway ids does not grow memory');
  t.equal(view.summary().overflow, 50, 'and the rest are counted');
});

t.test('an intent ending beyond the longest Node timer does not fire at once', async (t) => {
  const { clock, view, gw } = setup();
  const drain = gw('x').create('drained', 'ep-1', 'long', 30 * 24 * 3_600_000);
  view.apply(drain);
  clock.tick(1000);
  t.equal(view.remoteState('ep-1')?.drained, true);
  clock.tick(30 * 24 * 3_600_000);
  t.equal(view.remoteState('ep-1'), undefined, 'ends at its end');
});
