// What may run twice (issue 8): retries and hedges follow one replay policy per route. Inference calls
// are replayable; other POSTs only with an Idempotency-Key or `retry.nonIdempotent`; a request that never
// left the gateway may always go elsewhere.
import t from 'tap';
import { request } from 'undici';
import { refusedUrl, startGateway, startUpstream } from './helpers/gateway.js';

/** An upstream that resets every connection after reading the request (the request was seen). */
async function resetting(t: Parameters<typeof startUpstream>[0]) {
  let seen = 0;
  const up = await startUpstream(t, (req) => {
    seen++;
    req.resume();
    req.on('end', () => req.socket.destroy());
  });
  return { url: up.url, seen: () => seen };
}

async function counting(t: Parameters<typeof startUpstream>[0], delayed?: () => boolean) {
  let seen = 0;
  const up = await startUpstream(t, (req, res) => {
    seen++;
    req.resume();
    req.on('end', () => {
      if (delayed?.()) return; // hangs: the test ends it by closing
      res.end('{"ok":true}');
    });
  });
  return { url: up.url, seen: () => seen };
}

const post = (url: string, path: string, headers: Record<string, string> = {}) =>
  request(`${url}${path}`, { method: 'POST', body: '{"model":"m","purpose":"batch"}', headers: { 'content-type': 'application/json', ...headers } });

t.test('a reset POST /v1/files is not replayed elsewhere; a chat completion is', async (t) => {
  const bad = await resetting(t);
  const good = await counting(t);
  const gw = await startGateway(t, [{ name: 'bad', url: bad.url }, { name: 'good', url: good.url, priority: 1 }], { health: { probes: false } });
  const files = await post(gw.url, '/v1/files');
  t.equal(files.statusCode, 502, 'the reset reaches the client');
  t.equal(files.headers['x-regiongate-attempts'], '1');
  await files.body.dump();
  t.equal(good.seen(), 0, 'the upload did not run twice');

  const chat = await post(gw.url, '/v1/chat/completions');
  t.equal(chat.statusCode, 200, 'an inference call is replayed');
  t.equal(chat.headers['x-regiongate-region'], 'good');
  await chat.body.dump();
});

t.test('a client Idempotency-Key makes any POST replayable', async (t) => {
  const bad = await resetting(t);
  const good = await counting(t);
  const gw = await startGateway(t, [{ name: 'bad', url: bad.url }, { name: 'good', url: good.url, priority: 1 }], { health: { probes: false } });
  const res = await post(gw.url, '/v1/batches', { 'idempotency-key': 'k-123' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-regiongate-attempts'], '2');
  await res.body.dump();
  t.equal(good.seen(), 1);
});

t.test('retry.nonIdempotent replays every POST; a refused connection is retried whatever the policy', async (t) => {
  const bad = await resetting(t);
  const good = await counting(t);
  const gw = await startGateway(t, [{ name: 'bad', url: bad.url }, { name: 'good', url: good.url, priority: 1 }], {
    health: { probes: false },
    retry: { nonIdempotent: true },
  });
  const res = await post(gw.url, '/v1/files');
  t.equal(res.statusCode, 200);
  await res.body.dump();

  const good2 = await counting(t);
  const gw2 = await startGateway(t, [{ name: 'dead', url: await refusedUrl() }, { name: 'good', url: good2.url, priority: 1 }], { health: { probes: false } });
  const res2 = await post(gw2.url, '/v1/files');
  t.equal(res2.statusCode, 200, 'the endpoint never saw it: safe to send elsewhere');
  t.equal(res2.headers['x-regiongate-attempts'], '2');
  await res2.body.dump();
});

t.test('a 503 answer to POST /v1/files is passed through, not replayed', async (t) => {
  const busy = await startUpstream(t, (req, res) => {
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"error":"busy"}');
  });
  const good = await counting(t);
  const gw = await startGateway(t, [{ name: 'busy', url: busy.url }, { name: 'good', url: good.url, priority: 1 }], { health: { probes: false } });
  const res = await post(gw.url, '/v1/files');
  t.equal(res.statusCode, 503);
  await res.body.dump();
  t.equal(good.seen(), 0);
});

t.test('hedging follows the same policy: a slow POST /v1/files is never hedged, a chat completion is', async (t) => {
  const releases: (() => void)[] = [];
  let slowSeen = 0;
  const slow = await startUpstream(t, (req, res) => {
    slowSeen++;
    req.resume();
    releases.push(() => res.end('{"from":"slow"}'));
  });
  const other = await counting(t);
  const gw = await startGateway(t, [{ name: 'slow', url: slow.url }, { name: 'other', url: other.url, priority: 1 }], {
    health: { probes: false },
    retry: { hedge: { after: '50ms' } },
  });
  const files = post(gw.url, '/v1/files');
  while (slowSeen < 1) await new Promise((r) => setImmediate(r));
  // Well past the hedge delay: the old code had sent the upload to the other region by now.
  await new Promise((r) => setTimeout(r, 300));
  t.equal(other.seen(), 0, 'the upload was not hedged');
  releases.shift()?.();
  const filesRes = await files;
  t.equal(filesRes.statusCode, 200);
  t.equal(filesRes.headers['x-regiongate-attempts'], '1');
  await filesRes.body.dump();

  const chat = post(gw.url, '/v1/chat/completions');
  while (other.seen() < 1) await new Promise((r) => setImmediate(r)); // the hedge reached the other region
  const chatRes = await chat;
  t.equal(chatRes.statusCode, 200);
  t.equal(chatRes.headers['x-regiongate-region'], 'other', 'the hedge answered first');
  await chatRes.body.dump();
  for (const r of releases) r();
});
