/**
 * The contract every `StateStore` keeps, run on each implementation (`state-memory.test.ts` on a fake
 * clock, `state-redis.test.ts` on a real Redis). Time passes only through `h.wait`, so the memory run
 * ticks a FakeClock and the Redis run sleeps. Stores are made with `CONTRACT_SECRET`: a received event's
 * expiry is the receiver's clock plus the lifetime, so it is compared with a tolerance of `SLACK_MS`.
 */
import type { Test } from 'tap';
import { FleetEventSource, type FleetEvent } from '../src/state/fleet-event.js';
import { FleetView } from '../src/state/fleet-view.js';
import type { StateStore } from '../src/state/state-store.js';
import type { Clock } from '../src/util/clock.js';

export const CONTRACT_SECRET = 'contract-test-fleet-secret';
/** A received expiry is its sender's, later by the time in transit (and a refresh's rounding). */
const SLACK_MS = 1000;

/** `got` is `want` as received: the same fields, the expiry moved later by at most `SLACK_MS`. */
export function sameReceived(t: Test, got: FleetEvent | undefined, want: FleetEvent, what = 'the event as received'): void {
  t.same({ ...got, expiresAt: 0 }, { ...want, expiresAt: 0 }, what);
  t.ok(got !== undefined && near(got.expiresAt, want.expiresAt), `${what}: expiry ${got?.expiresAt} near ${want.expiresAt}`);
}

export function near(actual: number | undefined, expected: number): boolean {
  return actual !== undefined && actual >= expected - SLACK_MS && actual <= expected + SLACK_MS;
}

export interface StoreHarness {
  readonly clock: Clock;
  /** Snapshot refresh interval the harness gives its stores. */
  readonly refreshIntervalMs: number;
  /** Let `ms` pass: tick a fake clock, or sleep. */
  wait(ms: number): Promise<void>;
  /** A fresh, isolated fleet: stores made with the same fleet see each other, others do not. */
  newFleet(): string;
  /** A new, not yet started store. */
  createStore(fleet: string, gatewayId: string, localEvents: () => readonly FleetEvent[]): StateStore;
  /** Put raw bytes on the fleet's event channel (validation tests). */
  publishRaw(fleet: string, raw: string): Promise<void>;
  /** Write a raw snapshot entry (`"<deadline> <message>"`) as any writer of the store could (if the harness can). */
  writeRaw?(fleet: string, field: string, value: string): Promise<void>;
}

/** Wait (in harness time) until `cond` holds; fails the test after `limitMs`. */
export async function until(h: StoreHarness, what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 20) {
    if (waited > limitMs) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await h.wait(20);
  }
}

/** A started store of `fleet` whose local events are the mutable `local` list; closed on teardown. */
export async function member(
  t: Test,
  h: StoreHarness,
  fleet: string,
  gatewayId: string,
): Promise<{ store: StateStore; source: FleetEventSource; local: FleetEvent[]; view: FleetView }> {
  const local: FleetEvent[] = [];
  const store = h.createStore(fleet, gatewayId, () => local.filter((e) => e.expiresAt > h.clock.now()));
  const view = new FleetView({ gatewayId, clock: h.clock, totalEndpoints: () => 10 });
  view.attach(store);
  t.teardown(async () => {
    view.close();
    await store.close();
  });
  await store.start();
  return { store, source: new FleetEventSource(gatewayId, h.clock), local, view };
}

export function runStoreContract(t: Test, h: StoreHarness): void {
  t.test('an event published by A reaches B, and not A itself', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    const atA: FleetEvent[] = [];
    const atB: FleetEvent[] = [];
    a.store.onEvent((e) => atA.push(e));
    b.store.onEvent((e) => atB.push(e));
    const ev = a.source.create('ejected', 'ep-1', 'consecutive_5xx', 30_000);
    a.local.push(ev);
    a.store.publish(ev);
    await until(h, 'B to receive the event', () => atB.length === 1);
    await h.wait(100);
    t.equal(atB.length, 1);
    sameReceived(t, atB[0], ev);
    t.same(atA, [], 'own events are not delivered');
    t.equal(b.store.status().received, 1);
    t.equal(a.store.status().received, 0);
    await until(h, 'A to count the publish', () => a.store.status().published === 1);
    t.ok(near(b.view.remoteState('ep-1')?.ejectedUntil, ev.expiresAt));
    t.same(b.view.remoteState('ep-1')?.from, ['gw-a']);
    t.equal(a.view.remoteState('ep-1'), undefined, 'A does not apply its own event');
  });

  t.test('a newcomer joining during an ejection loads it from the snapshot', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const ev = a.source.create('ejected', 'ep-2', 'probe_failed', 30_000);
    a.local.push(ev);
    a.store.publish(ev);
    await until(h, 'A to count the publish', () => a.store.status().published === 1);
    const c = await member(t, h, fleet, 'gw-c');
    t.ok(c.store.status().connected, 'connected after start');
    t.ok(near(c.view.remoteState('ep-2')?.ejectedUntil, ev.expiresAt), 'known right after start()');
    t.equal(c.view.remoteState('ep-2')?.cause, 'probe_failed');
  });

  t.test('remote ejections expire at expiresAt unless renewed', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    const first = a.source.create('ejected', 'ep-3', 'consecutive_5xx', 400);
    a.local.push(first);
    a.store.publish(first);
    await until(h, 'B to apply the ejection', () => b.view.remoteState('ep-3') !== undefined);
    const renewed = a.source.create('ejected', 'ep-3', 'consecutive_5xx', 900);
    a.local.splice(0, a.local.length, renewed);
    a.store.publish(renewed);
    await until(h, 'B to apply the renewal', () => (b.view.remoteState('ep-3')?.ejectedUntil ?? 0) >= renewed.expiresAt - 10);
    await until(h, 'the first expiry to pass', () => h.clock.now() > first.expiresAt + 50);
    t.ok(b.view.remoteState('ep-3'), 'still ejected after the first expiresAt: renewed');
    await until(h, 'the ejection to expire', () => b.view.remoteState('ep-3') === undefined, 3000);
    t.ok(h.clock.now() >= renewed.expiresAt - 10, 'not forgotten before its expiresAt');
  });

  t.test('recovered clears a remote ejection', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    const ev = a.source.create('ejected', 'ep-4', 'consecutive_local_origin', 30_000);
    a.local.push(ev);
    a.store.publish(ev);
    await until(h, 'B to apply the ejection', () => b.view.remoteState('ep-4') !== undefined);
    a.local.length = 0;
    a.store.publish(a.source.create('recovered', 'ep-4', 'probe_recovered', 30_000));
    await until(h, 'B to apply the recovery', () => b.view.remoteState('ep-4') === undefined);
    t.pass('cleared');
  });

  t.test('an event only in localEvents reaches peers by the next refresh, and leaves with it', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    a.local.push(a.source.create('ejected', 'ep-5', 'probe_failed', 60_000));
    await until(h, 'a refresh to carry the ejection', () => b.view.remoteState('ep-5')?.ejectedUntil !== undefined, h.refreshIntervalMs * 4);
    a.local.length = 0; // e.g. the 'recovered' message was lost: the snapshot still heals it
    await until(h, 'a refresh to drop the ejection', () => b.view.remoteState('ep-5') === undefined, h.refreshIntervalMs * 4);
    t.pass('healed by refresh');
  });

  t.test('malformed messages are ignored and counted', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    const good = a.source.create('rate_limited', 'ep-6', 'rate_limited', 5_000);
    const w = { v: 2, type: 'rate_limited', gatewayId: 'gw-x', endpointId: 'ep-6', cause: 'x', at: 1, ttl: 5000, seq: 1 };
    const bad = [
      'not json',
      '',
      'null',
      '[]',
      '"text"',
      '{}',
      JSON.stringify({ ...w, v: 1 }),
      JSON.stringify({ ...w, type: 'exploded' }),
      JSON.stringify({ ...w, at: 'yesterday' }),
      JSON.stringify({ ...w, gatewayId: '' }),
      JSON.stringify({ ...w, seq: -1 }),
      JSON.stringify({ ...w, ttl: 'forever' }),
      JSON.stringify({ ...w, cause: 'x'.repeat(5000) }),
      '{"__proto__":{"polluted":true},"v":2}',
    ];
    for (const raw of bad) await h.publishRaw(fleet, raw);
    await until(h, 'B to see every malformed message', () => b.store.status().malformed >= bad.length);
    a.store.publish(good);
    await until(h, 'B to receive the valid event', () => b.store.status().received === 1);
    t.equal(b.store.status().malformed, bad.length);
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    t.ok(near(b.view.remoteState('ep-6')?.rateLimitedUntil, good.expiresAt));
  });

  t.test('a throwing listener breaks neither the store nor other listeners', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    b.store.onEvent(() => {
      throw new Error('listener bug');
    });
    const got: FleetEvent[] = [];
    b.store.onEvent((e) => got.push(e));
    a.store.publish(a.source.create('ejected', 'ep-7', 'breaker_open', 10_000));
    await until(h, 'the second listener', () => got.length === 1);
    t.match(b.store.status().lastError, /listener bug/);
  });

  t.test('publish never throws: invalid events and publishes after close count as dropped', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const foreign = new FleetEventSource('gw-other', h.clock).create('ejected', 'ep-8', 'x', 1000);
    a.store.publish(foreign);
    a.store.publish({ v: 2 } as unknown as FleetEvent);
    t.equal(a.store.status().dropped, 2);
    await a.store.close();
    a.store.publish(a.source.create('ejected', 'ep-8', 'x', 1000));
    t.equal(a.store.status().dropped, 3);
    t.notOk(a.store.status().connected);
    t.ok(a.store.status().degraded);
    t.equal(await a.store.refresh(), undefined, 'refresh after close resolves undefined');
    await a.store.close();
  });

  t.test('forged fleet messages: unsigned or wrongly signed messages and entries are dropped and counted', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const forged = (type: string, gatewayId: string) =>
      JSON.stringify({ v: 2, type, gatewayId, endpointId: 'ep-9', cause: 'operator', at: 1, ttl: 86_400_000, seq: 1 });
    for (const type of ['drained', 'drill', 'ejected']) for (const gw of ['ghost-1', 'ghost-2']) await h.publishRaw(fleet, forged(type, gw));
    await until(h, 'A to reject the forged messages', () => a.store.status().rejected === 6);
    if (h.writeRaw) {
      await h.writeRaw(fleet, JSON.stringify(['ep-9', 'drain']), `0 ${forged('drained', 'ghost-1')}`);
      await h.writeRaw(fleet, JSON.stringify(['ep-9', 'ghost-2', 'ejection']), `0 ${forged('ejected', 'ghost-2')}`);
      await a.store.refresh();
      // An entry whose store deadline contradicts its lifetime is malformed before its signature is looked at.
      const dropped = (): number => a.store.status().rejected + a.store.status().malformed;
      t.equal(dropped(), 8, 'forged snapshot entries are counted');
      await a.store.refresh();
      t.equal(dropped(), 8, '... once: they are deleted from the snapshot');
    }
    t.equal(a.view.remoteState('ep-9'), undefined, 'nothing forged applies');
    t.same(a.view.summary().intents, []);
    t.equal(a.store.status().received, 0);
    t.ok(a.store.status().signed);
  });

  t.test('an intent outlives its maker: a newcomer and the maker restarted both apply it; undrain replaces it', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const drain = a.source.create('drained', 'ep-10', 'maintenance', Number.POSITIVE_INFINITY);
    a.store.publish(drain);
    await h.wait(50);
    await a.store.close(); // the maker goes away; its reports would lapse, its intent stays
    await h.wait(h.refreshIntervalMs * 3);
    const c = await member(t, h, fleet, 'gw-c');
    t.equal(c.view.remoteState('ep-10')?.drained, true, 'a gateway started later applies it');
    t.same(c.view.summary().intents.map((i) => [i.kind, i.endpointId, i.by, i.reason, i.until]), [['drain', 'ep-10', 'gw-a', 'maintenance', undefined]]);
    const again = await member(t, h, fleet, 'gw-a');
    t.equal(again.view.remoteState('ep-10')?.drained, true, 'the maker applies its own intent after a restart');
    c.store.publish(c.source.create('undrained', 'ep-10', 'done', 60_000));
    await until(h, 'the undrain to reach the restarted maker', () => again.view.remoteState('ep-10') === undefined);
    const d = await member(t, h, fleet, 'gw-d');
    t.equal(d.view.remoteState('ep-10'), undefined, 'and a newcomer after the undrain does not drain');
  });

  t.test('a drill record ends by the store\'s clock, not by a lifetime anyone restates', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    const drill = a.source.create('drill', 'ep-11', 'drill', 600);
    a.store.publish(drill);
    await until(h, 'B to apply the drill', () => b.view.remoteState('ep-11')?.drillUntil !== undefined);
    await h.wait(300);
    await b.store.refresh(); // a reload tells the lifetime left, not the full one again
    t.ok((b.view.remoteState('ep-11')?.drillUntil ?? 0) <= drill.expiresAt + 100, 'a reload does not lengthen it');
    await until(h, 'the drill to end', () => b.view.remoteState('ep-11') === undefined, 3000);
  });

  t.test('a claim is won by exactly one gateway until it expires', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    const key = `drill-${fleet}`;
    const first = await Promise.all([a.store.claim(key, 400), b.store.claim(key, 400)]);
    t.same(first.filter((x) => x === true).length, 1, 'one winner among concurrent claims');
    t.equal(await a.store.claim(key, 400), false, 'held: nobody wins it again');
    t.equal(await b.store.claim(`${key}-other`, 400), true, 'another key is free');
    await h.wait(600);
    t.equal(await b.store.claim(key, 400), true, 'free again once expired');
  });

  t.test('a fault intent reaches every gateway and ends at its expiry', async (t) => {
    const fleet = h.newFleet();
    const a = await member(t, h, fleet, 'gw-a');
    const b = await member(t, h, fleet, 'gw-b');
    let held: readonly { event: FleetEvent }[] = [];
    b.view.onFaults((f) => (held = f));
    a.store.publish(a.source.create('fault', 'ep-12', 'fault error 50 0 drill-x', 600));
    await until(h, 'B to hold the fault', () => held.length === 1);
    t.equal(held[0]?.event.cause, 'fault error 50 0 drill-x');
    t.equal(b.view.remoteState('ep-12'), undefined, 'a fault leaves the endpoint\'s health alone');
    await until(h, 'the fault to end', () => held.length === 0, 3000);
  });
}
