/**
 * RedisStore when Redis misbehaves: killed and restarted, paused with SIGSTOP, and a broken gateway
 * poisoning the fleet. Each case spawns its own redis-server on an ephemeral port.
 */
import net from 'node:net';
import t from 'tap';
import { EgressGuard } from '../src/state/egress-guard.js';
import { FleetEventSource, type FleetEvent } from '../src/state/fleet-event.js';
import { RedisStore } from '../src/state/redis-store.js';
import type { StateStore } from '../src/state/state-store.js';
import { systemClock } from '../src/util/clock.js';
import {
  REDIS_SKIP,
  freePort,
  sleep,
  startRedisServer,
  testStoreOptions,
  waitUntil,
  type Teardown,
} from './helpers/redis-server.js';
import { member, type StoreHarness } from './state-contract.js';

function harnessFor(url: string): StoreHarness {
  return {
    clock: systemClock,
    refreshIntervalMs: 200,
    wait: sleep,
    newFleet: () => 'rg-fail:',
    createStore: (fleet, gatewayId, localEvents) => new RedisStore(testStoreOptions(url, fleet, gatewayId, localEvents)),
    publishRaw: async () => {},
  };
}

/**
 * A TCP proxy to Redis that can silently stop forwarding on the connections that subscribed: a
 * half-open subscriber (the socket stays up, nothing arrives), as after a NAT timeout or partition.
 */
async function startFreezingProxy(t: Teardown, redisPort: number): Promise<{ port: number; freezeSubscribers(): number }> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; subscriber: boolean; frozen: boolean }>();
  const server = net.createServer((client) => {
    const pair = { client, upstream: net.connect(redisPort, '127.0.0.1'), subscriber: false, frozen: false };
    pairs.add(pair);
    client.on('data', (d) => {
      if (/subscribe/i.test(d.toString())) pair.subscriber = true;
      if (!pair.frozen) pair.upstream.write(d);
    });
    pair.upstream.on('data', (d) => {
      if (!pair.frozen) client.write(d);
    });
    const close = (): void => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream.destroy();
    };
    client.on('close', close).on('error', close);
    pair.upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const p of pairs) p.client.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    freezeSubscribers() {
      let n = 0;
      for (const p of pairs) if (p.subscriber && !p.frozen) (p.frozen = true), n++;
      return n;
    },
  };
}

/**
 * Calls publish `n` times and proves none threw or returned a value (a promise would mean the caller
 * could be made to wait). Returns the slowest and mean call in ms, printed as figures, never asserted:
 * how fast a call is depends on the machine.
 */
function timePublishes(store: StateStore, make: () => FleetEvent, n: number): { max: number; mean: number } {
  let max = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const ev = make();
    const t0 = performance.now();
    const ret: unknown = store.publish(ev);
    const dt = performance.now() - t0;
    if (ret !== undefined) throw new Error('publish returned a value');
    max = Math.max(max, dt);
    total += dt;
  }
  return { max, mean: total / n };
}

/**
 * Publishes a fresh event from `a` every 200 ms until `b` receives one by pub/sub. Right after a
 * reconnect, a subscriber may still be resubscribing and miss one message (lost messages are healed by
 * the snapshot, not redelivered), so a single publish could be lost and the wait would never end.
 */
async function eventsFlow(what: string, a: { store: StateStore; source: FleetEventSource }, b: { store: StateStore }): Promise<number> {
  const sent = new Set<number>();
  let received = false;
  const off = b.store.onEvent((e) => (received ||= sent.has(e.seq)));
  try {
    await waitUntil(what, () => {
      if (received) return true;
      const ev = a.source.create('ejected', 'ep-flow', 'breaker_open', 60_000);
      sent.add(ev.seq);
      a.store.publish(ev);
      return false;
    }, undefined, 200);
  } finally {
    off();
  }
  return sent.size;
}

t.test('Redis down at start: start() resolves degraded, then the store connects by itself', { skip: REDIS_SKIP }, async (t) => {
  const port = await freePort();
  const store = new RedisStore({ ...testStoreOptions(`redis://127.0.0.1:${port}`, 'rg-fail:', 'gw-a', () => []), startTimeoutMs: 300 });
  t.teardown(() => store.close());
  const t0 = Date.now();
  await store.start();
  t.comment(`start() resolved after ${Date.now() - t0} ms`);
  t.ok(store.status().degraded);
  t.notOk(store.status().connected);
  t.match(store.status().lastError, /ECONNREFUSED|connection closed/);
  store.publish(new FleetEventSource('gw-a', systemClock).create('ejected', 'ep-1', 'x', 1000));
  t.equal(store.status().dropped, 1, 'dropped, not queued');
  await startRedisServer(t, { port });
  await waitUntil('the store to connect', () => !store.status().degraded);
  t.ok(store.status().lastSyncAt, 'synced');
});

t.test('Redis killed and restarted', { skip: REDIS_SKIP }, async (t) => {
  const server = await startRedisServer(t);
  const h = harnessFor(server.url);
  const a = await member(t, h, 'rg-fail:', 'gw-a');
  const b = await member(t, h, 'rg-fail:', 'gw-b');
  const early = a.source.create('ejected', 'ep-1', 'consecutive_5xx', 60_000);
  a.local.push(early);
  a.store.publish(early);
  await waitUntil('B to apply ep-1', () => b.view.remoteState('ep-1') !== undefined);

  await server.kill();
  await waitUntil('both stores to report degraded', () => a.store.status().degraded && b.store.status().degraded);
  const dropped = a.store.status().dropped;
  const timing = timePublishes(a.store, () => a.source.create('ejected', 'ep-9', 'x', 60_000), 1000);
  t.comment(`publish while Redis is down: mean ${timing.mean.toFixed(4)} ms, max ${timing.max.toFixed(3)} ms`);
  t.pass('publish returns synchronously: 1000 calls, none threw or returned a promise');
  // Dropped at once, or (if the publisher had not yet seen its socket close) failed by ioredis
  // when it does: either way nothing waits to be replayed later.
  await waitUntil('every publish to count as dropped', () => a.store.status().dropped === dropped + 1000);
  t.equal(a.store.status().published, 1, 'none of them was published');
  t.notOk(a.store.status().connected);
  t.ok(a.store.status().lastError, 'the error is reported');

  // While Redis is away: A recovers ep-1 and ejects ep-2; both messages are lost.
  a.local.length = 0;
  a.store.publish(a.source.create('recovered', 'ep-1', 'probe_recovered', 60_000));
  const late = a.source.create('ejected', 'ep-2', 'consecutive_local_origin', 60_000);
  a.local.push(late);
  a.store.publish(late);
  t.ok(b.view.remoteState('ep-1'), 'B still holds the stale ejection');

  await server.restart();
  await waitUntil('both stores to reconnect', () => !a.store.status().degraded && !b.store.status().degraded);
  await waitUntil('the refresh to heal B', () => b.view.remoteState('ep-2') !== undefined && b.view.remoteState('ep-1') === undefined);
  t.pass('lost messages healed by the snapshot refresh');

  const tries = await eventsFlow('pub/sub after the restart', a, b);
  t.pass(`resubscribed (${tries} publish(es) until one arrived)`);
});

t.test('Redis paused (SIGSTOP) and resumed', { skip: REDIS_SKIP }, async (t) => {
  const server = await startRedisServer(t);
  const h = harnessFor(server.url);
  const a = await member(t, h, 'rg-fail:', 'gw-a');
  const b = await member(t, h, 'rg-fail:', 'gw-b');
  t.ok(a.store.status().connected && b.store.status().connected);

  server.stop();
  const paused = Date.now();
  const timing = timePublishes(a.store, () => a.source.create('ejected', 'ep-1', 'x', 60_000), 200);
  t.comment(`publish while Redis is paused: mean ${timing.mean.toFixed(4)} ms, max ${timing.max.toFixed(3)} ms`);
  t.pass('publish does not wait for a paused server: 200 calls returned synchronously');
  await waitUntil('heartbeats to notice the pause', () => a.store.status().degraded && b.store.status().degraded);
  t.comment(`degraded ${Date.now() - paused} ms after SIGSTOP`);
  await waitUntil('the watchdog to report the cause', () => /heartbeat|timed out|ready check/i.test(b.store.status().lastError ?? ''));
  t.comment(`B lastError: ${b.store.status().lastError}`);
  t.match(b.store.status().lastError, /heartbeat|timed out|ready check/i, 'the cause is reported');
  const during = timePublishes(a.store, () => a.source.create('ejected', 'ep-1', 'x', 60_000), 200);
  t.comment(`publish after the watchdog fired: mean ${during.mean.toFixed(4)} ms, max ${during.max.toFixed(3)} ms`);
  t.pass('still synchronous after the watchdog fired');

  server.cont();
  const resumed = Date.now();
  await waitUntil('recovery after SIGCONT', () => !a.store.status().degraded && !b.store.status().degraded);
  t.comment(`recovered ${Date.now() - resumed} ms after SIGCONT`);
  const tries = await eventsFlow('pub/sub after SIGCONT', a, b);
  t.pass(`events flow again (${tries} publish(es) until one arrived)`);
});

t.test('a half-open subscriber is detected by heartbeats and reconnected', { skip: REDIS_SKIP }, async (t) => {
  const server = await startRedisServer(t);
  const proxy = await startFreezingProxy(t, server.port);
  const a = await member(t, harnessFor(server.url), 'rg-fail:', 'gw-a');
  const b = await member(t, harnessFor(`redis://127.0.0.1:${proxy.port}`), 'rg-fail:', 'gw-b');
  t.notOk(b.store.status().degraded);

  t.equal(proxy.freezeSubscribers(), 1, 'B subscriber frozen; its publisher still works');
  const frozenAt = Date.now();
  const lost = a.source.create('ejected', 'ep-1', 'consecutive_5xx', 60_000);
  a.local.push(lost);
  a.store.publish(lost);
  await waitUntil('B to notice its silent subscription', () => b.store.status().degraded);
  t.comment(`degraded ${Date.now() - frozenAt} ms after the freeze`);
  await waitUntil('the watchdog to act', () => /heartbeat/.test(b.store.status().lastError ?? ''));
  t.match(b.store.status().lastError, /heartbeat/, 'the heartbeat watchdog caught it');
  await waitUntil('B to reconnect its subscriber', () => !b.store.status().degraded);
  t.comment(`recovered ${Date.now() - frozenAt} ms after the freeze`);
  t.ok(b.view.remoteState('ep-1'), 'the message lost meanwhile is healed by the snapshot');

  const tries = await eventsFlow('pub/sub on the new subscription', a, b);
  t.pass(`events flow on the new subscription (${tries} publish(es) until one arrived)`);
});

t.test('a broken gateway cannot eject the world', { skip: REDIS_SKIP }, async (t) => {
  const server = await startRedisServer(t);
  const h = harnessFor(server.url);
  const broken = await member(t, h, 'rg-fail:', 'gw-broken');
  const honest = await member(t, h, 'rg-fail:', 'gw-honest');
  const observer = await member(t, h, 'rg-fail:', 'gw-observer');
  const ids = Array.from({ length: 10 }, (_, i) => `ep-${i}`);

  // Rule 1: its own guard keeps a gateway that sees every endpoint fail from publishing ejections.
  const guard = new EgressGuard({ totalEndpoints: () => 10, localEjectedCount: () => 10 });
  const accusations = ids.map((id) => broken.source.create('ejected', id, 'consecutive_local_origin', 30_000));
  t.same(guard.filter(accusations), [], 'nothing to publish while egress looks broken');

  // Rule 3: a gateway without the guard (older version, bug) still cannot eject more than half.
  for (const ev of accusations) {
    broken.local.push(ev);
    broken.store.publish(ev);
    await sleep(2); // distinct report times: the earliest ones win the quota
  }
  // Wait for all ten reports, not just the first five: the rest arrive as withheld ones.
  await waitUntil('the observer to apply the quota',
    () => observer.view.states().size === 5 && observer.view.summary().withheld === 5);
  t.same([...observer.view.states().keys()].sort(), ids.slice(0, 5), 'at most 50 % of endpoints from one gateway');
  t.equal(observer.view.summary().withheld, 5);

  const confirm = honest.source.create('ejected', 'ep-9', 'consecutive_5xx', 30_000);
  honest.local.push(confirm);
  honest.store.publish(confirm);
  await waitUntil('confirmation by a second gateway', () => observer.view.remoteState('ep-9') !== undefined);
  t.same(observer.view.remoteState('ep-9')?.from, ['gw-broken', 'gw-honest']);
  t.equal(observer.view.states().size, 5, 'the confirmed one uses the broken gateway quota first');

  // Rule 4: drains are authoritative, whatever the quota.
  const drain = broken.source.create('drained', 'ep-8', 'operator', 30_000);
  broken.local.push(drain);
  broken.store.publish(drain);
  await waitUntil('the drain', () => observer.view.remoteState('ep-8')?.drained === true);
  t.pass('drain applied beyond the quota');
});
