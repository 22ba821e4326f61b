/**
 * RedisStore: the StateStore contract on a real redis-server spawned for this file (ephemeral port),
 * plus what the snapshot looks like inside Redis.
 */
import t from 'tap';
import { Redis } from 'ioredis';
import { FleetEventSource, type FleetEvent } from '../src/state/fleet-event.js';
import { RedisStore } from '../src/state/redis-store.js';
import { systemClock } from '../src/util/clock.js';
import { REDIS_SKIP, sleep, startRedisServer, testStoreOptions, waitUntil, type Teardown } from './helpers/redis-server.js';
import { runStoreContract, type StoreHarness } from './state-contract.js';

async function rawClient(t: Teardown, port: number): Promise<Redis> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  r.on('error', () => {});
  await r.connect();
  t.teardown(() => r.disconnect());
  return r;
}

t.test('RedisStore', { skip: REDIS_SKIP }, async (t) => {
  const server = await startRedisServer(t);
  const raw = await rawClient(t, server.port);
  let n = 0;
  const harness: StoreHarness = {
    clock: systemClock,
    refreshIntervalMs: 200,
    wait: sleep,
    newFleet: () => `rg-test-${process.pid}-${++n}:`,
    createStore: (fleet, gatewayId, localEvents) => new RedisStore(testStoreOptions(server.url, fleet, gatewayId, localEvents)),
    async publishRaw(fleet, message) {
      await raw.publish(`${fleet}events`, message);
    },
  };

  t.test('StateStore contract', async (t) => runStoreContract(t, harness));

  t.test('the snapshot is a hash of (endpoint, gateway, class) → event JSON, pruned on refresh', async (t) => {
    const prefix = harness.newFleet();
    let local: FleetEvent[] = [];
    const store = new RedisStore(testStoreOptions(server.url, prefix, 'gw-a', () => local));
    t.teardown(() => store.close());
    await store.start();
    t.ok(store.status().connected);
    t.notOk(store.status().degraded);
    const src = new FleetEventSource('gw-a', systemClock);
    const ev = src.create('ejected', 'ep-1', 'consecutive_5xx', 30_000);
    local = [ev];
    store.publish(ev);
    // publish() is fire-and-forget: wait until its snapshot write has landed.
    await waitUntil('the snapshot entry', async () => Object.keys(await raw.hgetall(`${prefix}snapshot`)).length > 0);
    const hash = await raw.hgetall(`${prefix}snapshot`);
    t.same(Object.keys(hash), [JSON.stringify(['ep-1', 'gw-a', 'ejection'])]);
    t.same(JSON.parse(Object.values(hash)[0] ?? ''), ev);
    await store.refresh();
    const ttl = await raw.pttl(`${prefix}snapshot`);
    t.ok(ttl > 0, 'after a refresh the key itself expires unless some gateway refreshes it again');
    // A dead gateway's expired entry and garbage are pruned by the next refresh.
    const dead = new FleetEventSource('gw-dead', systemClock).create('ejected', 'ep-2', 'x', -1);
    await raw.hset(`${prefix}snapshot`, 'garbage', 'not json', JSON.stringify(['ep-2', 'gw-dead', 'ejection']), JSON.stringify(dead));
    const seen = await store.refresh();
    t.same(seen, [], 'own events are not returned as remote');
    t.same(Object.keys(await raw.hgetall(`${prefix}snapshot`)), [JSON.stringify(['ep-1', 'gw-a', 'ejection'])]);
    local = [];
    await store.refresh();
    t.equal(await raw.exists(`${prefix}snapshot`), 0, 'entries no longer asserted are removed');
  });
});
