/**
 * HeartbeatMonitor and reconnect back-off on a FakeClock: a silent subscription is reported once per
 * timeout, and only while heartbeats are actually being sent.
 */
import t from 'tap';
import { HeartbeatMonitor } from '../src/state/heartbeat.js';
import { parseRedisUrl, reconnectDelay } from '../src/state/redis-clients.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { seededRandom } from '../src/util/random.js';

function monitor() {
  const clock = new FakeClock();
  let canSend = true;
  let sent = 0;
  let silent = 0;
  const hb = new HeartbeatMonitor({
    clock,
    intervalMs: 1000,
    timeoutMs: 3000,
    send: () => (canSend ? (sent++, true) : false),
    onSilent: () => silent++,
  });
  hb.start();
  return { clock, hb, counts: () => ({ sent, silent }), setCanSend: (v: boolean) => (canSend = v) };
}

t.test('heard heartbeats keep it quiet', async (t) => {
  const { clock, hb, counts } = monitor();
  for (let i = 0; i < 10; i++) {
    clock.tick(1000);
    hb.heard();
  }
  t.same(counts(), { sent: 10, silent: 0 });
  t.notOk(hb.silent());
  hb.close();
  t.equal(clock.pending, 0);
});

t.test('silence while sending is reported once per timeout', async (t) => {
  const { clock, hb, counts } = monitor();
  clock.tick(3000);
  t.notOk(hb.silent(), 'not yet past the timeout');
  clock.tick(2000);
  t.ok(hb.silent());
  t.equal(counts().silent, 1);
  clock.tick(2000);
  t.equal(counts().silent, 1, 'not again within the timeout');
  clock.tick(2000);
  t.equal(counts().silent, 2);
  hb.reset();
  t.notOk(hb.silent(), 'a new subscription gets a full timeout');
  hb.close();
});

t.test('no verdict while the publisher cannot send', async (t) => {
  const { clock, hb, counts, setCanSend } = monitor();
  setCanSend(false);
  clock.tick(10_000);
  t.ok(hb.silent(), 'reported as silent (degraded)');
  t.equal(counts().silent, 0, 'but the subscriber is not blamed');
  setCanSend(true);
  clock.tick(3000);
  t.equal(counts().silent, 0, 'judged only after sending for longer than a whole timeout');
  clock.tick(2000);
  t.equal(counts().silent, 1);
  hb.close();
});

t.test('reconnect delay: exponential, capped, jittered ±20 %', async (t) => {
  const r = seededRandom(3);
  const cap = 2000;
  for (let attempt = 1; attempt <= 30; attempt++) {
    const d = reconnectDelay(attempt, r, cap);
    const base = Math.min(cap, 50 * 2 ** (attempt - 1));
    t.ok(d >= Math.floor(base * 0.8) && d <= Math.ceil(base * 1.2), `attempt ${attempt}: ${d} ms`);
  }
  t.equal(reconnectDelay(1000, () => 0.5, cap), cap, 'never above the cap, even for huge attempt counts');
});

t.test('redis URLs', async (t) => {
  t.same(parseRedisUrl('redis://127.0.0.1:6380'), { host: '127.0.0.1', port: 6380, db: 0, tls: false });
  t.same(parseRedisUrl('rediss://u%40x:p%3Aw@redis.example:7000/3'), {
    host: 'redis.example', port: 7000, username: 'u@x', password: 'p:w', db: 3, tls: true,
  });
  t.same(parseRedisUrl('redis://[::1]'), { host: '::1', port: 6379, db: 0, tls: false });
});
