import t from 'tap';
import { connect } from 'node:net';
import { request } from 'undici';
import { forwardedCount, startGateway, startSim, startUpstream } from './helpers/gateway.js';
import { until, within } from './helpers/wait.js';

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

/**
 * An upstream whose chat completions stream one event, then hold the response open until `finish()`
 * writes the last one and ends it; `closed` resolves when the gateway closes that upstream request.
 * Other paths answer "ok".
 */
async function heldStream(t: Parameters<typeof startUpstream>[0]) {
  let finish!: () => void;
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  const up = await startUpstream(t, (req, res) => {
    if (req.url !== '/v1/chat/completions') return void res.end('ok');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    finish = () => res.end('data: [DONE]\n\n');
    res.on('close', () => upstreamClosed());
  });
  return { url: up.url, finish: () => finish(), closed };
}

/** Open a stream through `url` and wait for its first event; `body` resolves the whole body as text. */
async function openStream(url: string): Promise<{ body: Promise<string> }> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
    reset: true, // the drain waits for idle keep-alive connections too; this one closes after its answer
  });
  const it = res.body[Symbol.asyncIterator]();
  const first = await within('the first event of the stream', it.next());
  const rest = (async () => {
    let text = String(first.value ?? '');
    for (let r = await it.next(); !r.done; r = await it.next()) text += String(r.value);
    return text;
  })();
  rest.catch(() => undefined); // asserted by the caller
  return { body: rest }; // wrapped: an async function would otherwise wait for the promise it returns
}

/** Whether a new TCP connection to `url` is refused. */
function refused(url: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = connect(Number(new URL(url).port), '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

t.test('graceful drain: readiness fails first, an in-flight stream finishes, then the listener closes', async (t) => {
  // The stream is held open by the test, so "the drain waits for it" does not depend on how long the
  // steps below take. The grace is long enough for three local requests on a busy machine.
  const up = await heldStream(t);
  const gw = await startGateway(t, [{ name: 'r', url: up.url }]);
  const url = gw.url;
  const { body: text } = await openStream(url);
  const drained = gw.close(60_000, 2000);
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

  await until('the listener to close after the grace', () => refused(url));
  t.pass('after the grace, new connections are refused');
  t.notOk(drainedYet, 'drain waits for the in-flight stream');
  t.equal(gw.gateway.inflight, 1, 'the stream is still in flight');
  up.finish();
  const body = await within('the in-flight stream to finish', text);
  t.equal(body, 'data: first\n\ndata: [DONE]\n\n', 'the in-flight stream finished completely');
  await within('the drain to end once the stream is done', drained);
  t.equal(gw.gateway.inflight, 0);
});

t.test('the drain deadline cuts streams that outlive it', async (t) => {
  // The upstream never ends the stream by itself: only the 200 ms drain deadline can end close().
  const up = await heldStream(t);
  const gw = await startGateway(t, [{ name: 'r', url: up.url }]);
  const { body: text } = await openStream(gw.url);
  await within('close() to return at its deadline', gw.close(200, 0));
  await t.rejects(text, 'the cut stream ends abnormally');
  await within('the upstream request to be closed', up.closed);
  t.equal(gw.gateway.inflight, 0);
});
