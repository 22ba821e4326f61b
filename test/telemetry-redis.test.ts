// Redis going away and coming back is logged, once per transition: each client's disconnect and
// reconnect, and the store's degraded period with how long it lasted. A dead Redis that refuses every
// reconnect attempt is still one line per client, not one per attempt. Spawns its own redis-server.
import t from 'tap';
import { RedisStore } from '../src/state/redis-store.js';
import { createLogger } from '../src/telemetry/logger.js';
import { REDIS_SKIP, startRedisServer, testStoreOptions, waitUntil } from './helpers/redis-server.js';

interface Line {
  level: string;
  event: string;
  role?: string;
  reason?: string;
  downMs?: number;
  degradedMs?: number;
}

t.test('Redis killed and restarted: disconnects, degraded, reconnects and recovery logged once each', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedisServer(t);
  const raw: string[] = [];
  const store = new RedisStore({
    ...testStoreOptions(redis.url, 'rg-telemetry:', 'gw-log', () => []),
    logger: createLogger('info', (l) => void raw.push(l), { gatewayId: 'gw-log', worker: 0 }),
  });
  t.teardown(() => store.close());
  await store.start();
  await waitUntil('healthy', () => !store.status().degraded);
  const lines = (): Line[] => raw.map((l) => JSON.parse(l) as Line);
  const count = (event: string, role?: string): number => lines().filter((l) => l.event === event && (role === undefined || l.role === role)).length;
  t.equal(count('state.degraded'), 0, 'connecting at start is not a degraded period');

  await redis.kill();
  await waitUntil('both clients down and the store degraded', () =>
    count('state.redis_disconnected', 'publisher') === 1 && count('state.redis_disconnected', 'subscriber') === 1 && count('state.degraded') === 1,
  );
  // Reconnect attempts fail meanwhile, each with a 'close' of its own; none adds a line.
  const failedBefore = store.status().lastError;
  t.ok(failedBefore, 'the store knows why');
  await redis.restart();
  await waitUntil('recovered', () => count('state.recovered') === 1 && !store.status().degraded);
  await waitUntil('both clients back', () => count('state.redis_reconnected', 'publisher') === 1 && count('state.redis_reconnected', 'subscriber') === 1);

  t.equal(count('state.redis_disconnected'), 2, 'one disconnect line per client for the whole outage');
  t.equal(count('state.degraded'), 1, 'one degraded line for the outage');
  const degraded = lines().find((l) => l.event === 'state.degraded');
  t.equal(degraded?.level, 'warn');
  t.match(degraded?.reason, /closed|ECONNREFUSED|heartbeat/, 'the degraded line says why');
  const recovered = lines().find((l) => l.event === 'state.recovered');
  t.ok(typeof recovered?.degradedMs === 'number' && recovered.degradedMs >= 0, 'the recovery says how long it was degraded');
  t.ok(lines().filter((l) => l.event === 'state.redis_reconnected').every((l) => typeof l.downMs === 'number'), 'reconnects say how long');
  for (const l of raw) t.match(JSON.parse(l), { gatewayId: 'gw-log', worker: 0 }, 'every line names the gateway and worker');
});
