/**
 * RedisStore through Sentinel: a master, a replica and one sentinel (quorum 1, short timeouts) on
 * ephemeral ports; the master is killed and the stores carry on through the promoted replica.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { FleetEvent } from '../src/state/fleet-event.js';
import { RedisStore } from '../src/state/redis-store.js';
import { systemClock } from '../src/util/clock.js';
import {
  REDIS_SKIP,
  type RedisServer,
  freePort,
  redisCli,
  sleep,
  startRedisServer,
  tempDir,
  testStoreOptions,
  waitUntil,
} from './helpers/redis-server.js';
import { member, type StoreHarness } from './state-contract.js';

/** A `redis-server --sentinel` on an ephemeral port, from the lines of its sentinel.conf. */
async function startSentinel(t: Parameters<typeof startRedisServer>[0], conf: readonly string[]): Promise<RedisServer> {
  const dir = tempDir(t, 'regiongate-sentinel-');
  const file = join(dir, 'sentinel.conf');
  writeFileSync(file, `${conf.join('\n')}\n`);
  return startRedisServer(t, { configFile: file, sentinel: true, dir, port: await freePort() });
}

t.test('Sentinel failover', { skip: REDIS_SKIP }, async (t) => {
  const started = Date.now();
  const master = await startRedisServer(t, { args: ['--repl-diskless-sync-delay', '0'] });
  const replica = await startRedisServer(t, { args: ['--replicaof', '127.0.0.1', String(master.port)] });
  await waitUntil('the replica to sync', async () => (await redisCli('-p', String(replica.port), 'info', 'replication')).includes('master_link_status:up'));

  const sentinel = await startSentinel(t, [
    `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`,
    'sentinel down-after-milliseconds mymaster 500',
    'sentinel failover-timeout mymaster 2000',
    'sentinel parallel-syncs mymaster 1',
  ]);
  await waitUntil('the sentinel to discover the replica', async () =>
    (await redisCli('-p', String(sentinel.port), 'sentinel', 'replicas', 'mymaster')).includes(String(replica.port)),
  10_000);

  const sentinels = [{ host: '127.0.0.1', port: sentinel.port }];
  const h: StoreHarness = {
    clock: systemClock,
    refreshIntervalMs: 200,
    wait: sleep,
    newFleet: () => 'rg-sentinel:',
    createStore: (fleet, gatewayId, localEvents) =>
      new RedisStore(testStoreOptions('redis://127.0.0.1:1', fleet, gatewayId, localEvents, { sentinels, sentinelName: 'mymaster' })),
    publishRaw: async () => {},
  };
  const a = await member(t, h, 'rg-sentinel:', 'gw-a');
  const b = await member(t, h, 'rg-sentinel:', 'gw-b');
  t.ok(a.store.status().connected && b.store.status().connected, 'connected through the sentinel');
  const got: FleetEvent[] = [];
  b.store.onEvent((e) => got.push(e));
  const before = a.source.create('ejected', 'ep-1', 'consecutive_5xx', 60_000);
  a.local.push(before);
  a.store.publish(before);
  await waitUntil('an event through the first master', () => got.length === 1);

  await master.kill();
  const killedAt = Date.now();
  await waitUntil('the sentinel to promote the replica', async () =>
    (await redisCli('-p', String(sentinel.port), 'sentinel', 'get-master-addr-by-name', 'mymaster')).includes(String(replica.port)),
  undefined, 100);
  t.comment(`failover ${Date.now() - killedAt} ms after the kill`);
  const after = a.source.create('ejected', 'ep-2', 'consecutive_5xx', 60_000);
  a.local.push(after);
  await waitUntil('both stores to reconnect to the new master', () => a.store.status().connected && b.store.status().connected && !b.store.status().degraded);
  t.comment(`stores healthy ${Date.now() - killedAt} ms after the kill`);
  a.store.publish(after);
  await waitUntil('an event through the new master', () => got.some((e) => e.seq === after.seq));
  // Replication is asynchronous: a write the dead master never shipped is restored by A's next refresh.
  await waitUntil('the fleet state to be intact', () => !!(b.view.remoteState('ep-1') && b.view.remoteState('ep-2')));
  t.pass('fleet state intact on the new master');
  t.comment(`whole case ${Date.now() - started} ms`);
});

t.test('Sentinel and master behind passwords', { skip: REDIS_SKIP }, async (t) => {
  const master = await startRedisServer(t, { args: ['--requirepass', 'master-pw'] });
  const sentinel = await startSentinel(t, [
    `sentinel monitor authmaster 127.0.0.1 ${master.port} 1`,
    'sentinel auth-pass authmaster master-pw',
    'requirepass sentinel-pw',
  ]);
  const sentinels = [{ host: '127.0.0.1', port: sentinel.port }];
  const harness = (sentinelPassword: string): StoreHarness => ({
    clock: systemClock,
    refreshIntervalMs: 200,
    wait: sleep,
    newFleet: () => 'rg-sentinel-auth:',
    createStore: (fleet, gatewayId, localEvents) =>
      new RedisStore(testStoreOptions('redis://:master-pw@unused:1', fleet, gatewayId, localEvents, { sentinels, sentinelName: 'authmaster', sentinelPassword })),
    publishRaw: async () => {},
  });

  const a = await member(t, harness('sentinel-pw'), 'rg-sentinel-auth:', 'gw-a');
  const b = await member(t, harness('sentinel-pw'), 'rg-sentinel-auth:', 'gw-b');
  t.ok(a.store.status().connected && b.store.status().connected, 'connected through a password-protected sentinel');
  const got: FleetEvent[] = [];
  b.store.onEvent((e) => got.push(e));
  const ev = a.source.create('ejected', 'ep-1', 'consecutive_5xx', 60_000);
  a.local.push(ev);
  a.store.publish(ev);
  await waitUntil('an event through the password-protected master', () => got.some((e) => e.seq === ev.seq));

  const wrong = await member(t, harness('not-the-password'), 'rg-sentinel-auth:', 'gw-wrong');
  t.notOk(wrong.store.status().connected, 'a wrong sentinel password does not connect');
  t.ok(wrong.store.status().degraded, 'the store reports itself degraded');
});
