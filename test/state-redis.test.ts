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
import { CONTRACT_SECRET, runStoreContract, type StoreHarness } from './state-contract.js';

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
    createStore: (fleet, gatewayId, localEvents) =>
      new RedisStore({ ...testStoreOptions(server.url, fleet, gatewayId, localEvents), secret: CONTRACT_SECRET }),
    async publishRaw(fleet, message) {
      await raw.publish(`${fleet}events`, message);
    },
    async writeRaw(fleet, field, value) {
      await raw.hset(`${fleet}snapshot`, field, value);
    },
  };

  t.test('StateStore contract', async (t) => runStoreContract(t, harness));

  t.test('the snapshot is a hash of deadline-stamped, signed messages, pruned by the Redis server\'s clock', async (t) => {
    const prefix = harness.newFleet();
    let local: FleetEvent[] = [];
    const store = new RedisStore({ ...testStoreOptions(server.url, prefix, 'gw-a', () => local), secret: CONTRACT_SECRET });
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
    const field = JSON.stringify(['ep-1', 'gw-a', 'ejection']);
    t.same(Object.keys(hash), [field]);
    const [deadline, message] = [hash[field]!.slice(0, hash[field]!.indexOf(' ')), hash[field]!.slice(hash[field]!.indexOf(' ') + 1)];
    const [secs, micros] = (await raw.time()) as [number | string, number | string];
    const serverNow = Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
    t.ok(Math.abs(Number(deadline) - (serverNow + 30_000)) < 1000, 'the deadline is the server\'s clock plus the lifetime');
    const m = JSON.parse(message) as Record<string, unknown>;
    t.ok(typeof m.ttl === 'number' && m.ttl <= 30_000 && m.ttl > 0, 'the message carries a lifetime (what is left of 30 s when it was sent)');
    t.equal(m.expiresAt, undefined, 'and no absolute expiry');
    t.match(m.sig, /^[\w-]{43}$/, 'and a signature');
    // A dead gateway's entry past its deadline (by the server's clock) and garbage go at the next refresh.
    await raw.hset(`${prefix}snapshot`, 'garbage', 'not json', JSON.stringify(['ep-2', 'gw-dead', 'ejection']), `${serverNow - 1} ${message}`);
    const seen = await store.refresh();
    t.same(seen, [], 'own events are not returned as remote');
    t.same(Object.keys(await raw.hgetall(`${prefix}snapshot`)), [field]);
    local = [];
    await store.refresh();
    t.equal(await raw.exists(`${prefix}snapshot`), 0, 'entries no longer asserted are removed');
  });

  t.test('a gateway whose clock is far ahead neither keeps nor prunes others\' entries by it', async (t) => {
    const prefix = harness.newFleet();
    const ahead = { ...systemClock, now: () => Date.now() + 3_600_000 };
    const opts = (id: string, clock = systemClock) => ({ ...testStoreOptions(server.url, prefix, id, () => []), clock, secret: CONTRACT_SECRET });
    const a = new RedisStore(opts('gw-a'));
    const skewed = new RedisStore(opts('gw-skewed', ahead));
    t.teardown(() => Promise.all([a.close(), skewed.close()]));
    await Promise.all([a.start(), skewed.start()]);
    a.publish(new FleetEventSource('gw-a', systemClock).create('ejected', 'ep-1', 'x', 30_000));
    await sleep(50);
    const seen = await skewed.refresh();
    t.equal(seen?.length, 1, 'an entry with 30 s left survives a refresh by a gateway an hour ahead');
    t.ok(seen !== undefined && Math.abs(seen[0]!.expiresAt - (ahead.now() + 30_000)) < 1000, 'and lives 30 s on that gateway\'s own clock');
  });
});
