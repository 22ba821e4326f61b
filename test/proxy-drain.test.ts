import t from 'tap';
import { connect } from 'node:net';
import { request } from 'undici';
import { forwardedCount, startGateway, startSim } from './helpers/gateway.js';

t.test('healthz and readyz answer while serving', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }], { listen: { host: '127.0.0.1', port: 0, readyzPath: '/ready' } });
  const h = await request(`${gw.url}/healthz`);
  t.equal(h.statusCode, 200);
  t.same(await h.body.json(), { status: 'ok' });
  const r = await request(`${gw.url}/ready`);
  t.equal(r.statusCode, 200, 'readiness path is configurable');
  await r.body.dump();
  t.equal(forwardedCount(sim), 0, 'probes of the gateway never reach an endpoint');
});

t.test('graceful drain: readiness fails first, an in-flight stream finishes, then the listener closes', async (t) => {
  const sim = await startSim(t, { name: 'r', tokens: 30, tokenIntervalMs: 50 });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const url = gw.url;
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
    reset: true, // the drain waits for idle keep-alive connections too; this one closes after its answer
  });
  const text = res.body.text();
  const drained = gw.close(5000, 300);
  let drainedYet = false;
  void drained.then(() => (drainedYet = true));

  // During the readiness grace the gateway still accepts and serves, but tells load balancers to go.
  const ready = await request(`${url}/readyz`, { reset: true });
  t.equal(ready.statusCode, 503, 'readiness fails first');
  t.same(await ready.body.json(), { status: 'draining' });
  const live = await request(`${url}/healthz`, { reset: true });
  t.equal(live.statusCode, 200, 'liveness stays 200 during the drain');
  t.same(await live.body.json(), { status: 'draining' }, 'and says it is draining');
  const late = await request(`${url}/echo`, { reset: true });
  t.equal(late.statusCode, 200, 'a request arriving in the grace period is still served');
  t.equal(late.headers.connection, 'close', 'and its connection is not kept alive');
  await late.body.dump();

  await new Promise((r) => setTimeout(r, 400));
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect(Number(new URL(url).port), '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
  t.ok(refused, 'after the grace, new connections are refused');
  t.notOk(drainedYet, 'drain waits for the in-flight stream');
  const body = await text;
  t.match(body, /data: \[DONE\]\n\n$/, 'the in-flight stream finished completely');
  await drained;
  t.equal(gw.gateway.inflight, 0);
});

t.test('the drain deadline cuts streams that outlive it', async (t) => {
  const sim = await startSim(t, { name: 'r', tokens: 100, tokenIntervalMs: 50 });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
  });
  const text = res.body.text();
  text.catch(() => undefined); // asserted below; the cut happens while close() is awaited
  const started = performance.now();
  await gw.close(200, 0);
  const took = performance.now() - started;
  t.ok(took < 2000, `drain returned after ${took.toFixed(0)} ms with a 200 ms deadline`);
  await t.rejects(text, 'the cut stream ends abnormally');
});
