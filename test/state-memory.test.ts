/**
 * MemoryStore: the StateStore contract on a FakeClock, plus what only the in-process store has
 * (a shared MemoryBus, its timers, createStateStore's default).
 */
import t from 'tap';
import { resolveConfig } from '../src/config/index.js';
import { createStateStore } from '../src/state/create-store.js';
import { FleetEventSource, type FleetEvent } from '../src/state/fleet-event.js';
import { MemoryBus, MemoryStore } from '../src/state/memory-store.js';
import { RedisStore } from '../src/state/redis-store.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { seededRandom } from '../src/util/random.js';
import { CONTRACT_SECRET, runStoreContract, type StoreHarness } from './state-contract.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function memoryHarness(): StoreHarness {
  const clock = new FakeClock();
  const buses = new Map<string, MemoryBus>();
  let n = 0;
  return {
    clock,
    refreshIntervalMs: 200,
    async wait(ms) {
      for (let left = ms; left > 0; left -= 10) {
        clock.tick(Math.min(10, left));
        await flush();
      }
      await flush();
    },
    newFleet() {
      const id = `fleet-${++n}`;
      buses.set(id, new MemoryBus());
      return id;
    },
    createStore(fleet, gatewayId, localEvents) {
      const bus = buses.get(fleet);
      if (!bus) throw new Error(`unknown fleet ${fleet}`);
      return new MemoryStore({ gatewayId, clock, localEvents, bus, refreshIntervalMs: 200, secret: CONTRACT_SECRET });
    },
    async publishRaw(fleet, raw) {
      buses.get(fleet)?.publish(raw);
      await flush();
    },
    async writeRaw(fleet, field, value) {
      buses.get(fleet)?.write(field, value);
    },
  };
}

t.test('StateStore contract: MemoryStore', async (t) => {
  runStoreContract(t, memoryHarness());
});

t.test('refresh runs on a fixed interval, changed or not, and close clears every timer', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore({ gatewayId: 'gw', clock, localEvents: () => [], refreshIntervalMs: 1000 });
  let loads = 0;
  store.onSnapshot(() => loads++);
  await store.start();
  t.equal(loads, 1, 'start loads the snapshot');
  clock.tick(5000);
  t.equal(loads, 6, 'one load per interval');
  t.equal(store.status().lastSyncAt, clock.now());
  await store.close();
  t.equal(clock.pending, 0, 'no timer left');
  clock.tick(5000);
  t.equal(loads, 6);
});

t.test('the shared snapshot is pruned: expired entries and entries their gateway stopped asserting', async (t) => {
  const clock = new FakeClock();
  const bus = new MemoryBus();
  let local: FleetEvent[] = [];
  const a = new MemoryStore({ gatewayId: 'gw-a', clock, localEvents: () => local, bus, refreshIntervalMs: 1000 });
  const b = new MemoryStore({ gatewayId: 'gw-b', clock, localEvents: () => [], bus, refreshIntervalMs: 1000 });
  const dead = new MemoryStore({ gatewayId: 'gw-dead', clock, localEvents: () => [], bus });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await Promise.all([a.start(), b.start(), dead.start()]);
  const fromDead = new FleetEventSource('gw-dead', clock).create('ejected', 'ep-3', 'x', 1500);
  dead.publish(fromDead);
  await dead.close(); // its entry stays until it expires
  const src = new FleetEventSource('gw-a', clock);
  const dropped = src.create('ejected', 'ep-1', 'x', 60_000);
  const kept = src.create('rate_limited', 'ep-2', 'x', 60_000);
  a.publish(dropped);
  a.publish(kept);
  local = [kept];
  t.equal(bus.snapshotSize, 3);
  clock.tick(1000); // refreshes: ep-1 is no longer asserted by gw-a → deleted
  t.equal(bus.snapshotSize, 2);
  t.same(await b.refresh(), [fromDead, kept]);
  clock.tick(1000); // gw-dead's entry expired → pruned
  t.same(await b.refresh(), [kept]);
  local = [];
  await a.refresh();
  t.equal(bus.snapshotSize, 0);
});

t.test('a listener error or a throwing localEvents provider never breaks a refresh loop', async (t) => {
  const clock = new FakeClock();
  let fail = true;
  const store = new MemoryStore({
    gatewayId: 'gw',
    clock,
    localEvents: () => {
      if (fail) throw new Error('provider broke');
      return [];
    },
  });
  t.teardown(() => store.close());
  await store.start();
  t.match(store.status().lastError, /provider broke/);
  t.equal(store.status().lastSyncAt, undefined);
  fail = false;
  t.ok(await store.refresh());
  t.equal(store.status().lastSyncAt, clock.now());
});

t.test('createStateStore picks the store from config', async (t) => {
  const cfg = resolveConfig({ regions: [{ name: 'us', endpoints: [{ url: 'http://127.0.0.1:1' }] }] });
  const deps = { gatewayId: 'gw', clock: new FakeClock(), random: seededRandom(1), localEvents: () => [] };
  const mem = createStateStore(cfg.state, deps);
  t.ok(mem instanceof MemoryStore);
  t.equal(mem.status().store, 'memory');
  const redisCfg = resolveConfig({
    state: { store: 'redis', redis: { url: 'redis://127.0.0.1:1' } },
    regions: [{ name: 'us', endpoints: [{ url: 'http://127.0.0.1:1' }] }],
  });
  const redis = createStateStore(redisCfg.state, deps);
  t.ok(redis instanceof RedisStore, 'not connected until start()');
  t.equal(redis.status().store, 'redis');
  t.notOk(redis.status().connected);
  await redis.close();
});
