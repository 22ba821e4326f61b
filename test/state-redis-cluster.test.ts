/**
 * RedisStore on Redis Cluster: three masters (`cluster-enabled yes`) on ephemeral ports whose bus
 * ports (+10000) are free too, joined with `redis-cli --cluster create`. Stores publish, receive and
 * load the snapshot through `Cluster`.
 */
import t from 'tap';
import type { FleetEvent } from '../src/state/fleet-event.js';
import { RedisStore } from '../src/state/redis-store.js';
import { systemClock } from '../src/util/clock.js';
import { REDIS_SKIP, freePort, redisCli, sleep, startRedisServer, testStoreOptions, waitUntil, type RedisServer } from './helpers/redis-server.js';
import { nextCalls } from './helpers/wait.js';
import { member, type StoreHarness } from './state-contract.js';

t.test('Redis Cluster', { skip: REDIS_SKIP }, async (t) => {
  const started = Date.now();
  const nodes: RedisServer[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort(10_000);
    nodes.push(
      await startRedisServer(t, {
        port,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
      }),
    );
  }
  await redisCli('--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes');
  for (const n of nodes)
    await waitUntil(`node ${n.port} to report cluster_state:ok`, async () =>
      (await redisCli('-p', String(n.port), 'cluster', 'info')).includes('cluster_state:ok'),
    undefined, 100);
  t.comment(`cluster up in ${Date.now() - started} ms`);

  const cluster = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  const h: StoreHarness = {
    clock: systemClock,
    refreshIntervalMs: 200,
    wait: sleep,
    newFleet: () => 'rg-cluster:',
    createStore: (fleet, gatewayId, localEvents) =>
      new RedisStore(testStoreOptions(nodes[0]?.url ?? '', fleet, gatewayId, localEvents, { cluster })),
    publishRaw: async () => {},
  };
  const a = await member(t, h, 'rg-cluster:', 'gw-a');
  const b = await member(t, h, 'rg-cluster:', 'gw-b');
  t.ok(a.store.status().connected && b.store.status().connected, 'connected to the cluster');
  t.notOk(b.store.status().degraded);

  const got: FleetEvent[] = [];
  b.store.onEvent((e) => got.push(e));
  const ev = a.source.create('ejected', 'ep-1', 'consecutive_5xx', 60_000);
  a.local.push(ev);
  a.store.publish(ev);
  await waitUntil('B to receive through the cluster', () => got.length === 1);
  // Lifetimes travel relative: the receiver's expiry is its clock plus what was left, within a few ms of ours.
  const { expiresAt, ...rest } = got[0];
  const { expiresAt: sent, ...sentRest } = ev;
  t.same(rest, sentRest);
  t.ok(Math.abs(expiresAt - sent) < 1000, 'the same expiry, give or take the transit');
  t.ok(Math.abs((b.view.remoteState('ep-1')?.ejectedUntil ?? 0) - sent) < 1000);

  const c = await member(t, h, 'rg-cluster:', 'gw-c');
  t.ok(c.view.remoteState('ep-1'), 'a newcomer loads the snapshot from the cluster');
  // Heartbeats are judged after a whole timeout (1 s) of sending: wait for eight 200 ms refreshes of c.
  await nextCalls('eight snapshot refreshes of gw-c', (fn) => c.store.onSnapshot(fn), 8);
  t.notOk(c.store.status().degraded, 'heartbeats come back through the cluster');
  t.comment(`whole case ${Date.now() - started} ms`);
});
