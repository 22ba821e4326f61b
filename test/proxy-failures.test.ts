import t from 'tap';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { forwardedCount, refusedUrl, startGateway, startSim, startUpstream } from './helpers/gateway.js';
import { within } from './helpers/wait.js';

const chatBody = (stream = false): string => JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] });
const post = (url: string, body = chatBody()) =>
  request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

async function errorOf(res: Awaited<ReturnType<typeof request>>): Promise<string> {
  const json = (await res.body.json()) as { error: { code: string; type: string } };
  return json.error.code;
}

t.test('upstream refused → 502 RG_ERR_UPSTREAM_CONNECT with gateway headers', async (t) => {
  const gw = await startGateway(t, [{ name: 'dead', url: await refusedUrl() }], { retry: { attempts: 1 } });
  const res = await post(gw.url);
  t.equal(res.statusCode, 502);
  t.equal(res.headers['x-regiongate-region'], 'dead');
  t.equal(res.headers['x-regiongate-endpoint'], 'dead-0');
  t.equal(res.headers['x-regiongate-attempts'], '1');
  t.ok(res.headers['x-request-id']);
  t.equal(await errorOf(res), 'RG_ERR_UPSTREAM_CONNECT');
});

t.test('upstream reset before answering → 502 RG_ERR_UPSTREAM_RESET', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  await sim.setFault({ mode: 'reset' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }], { retry: { attempts: 1 } });
  const res = await post(gw.url);
  t.equal(res.statusCode, 502);
  t.equal(await errorOf(res), 'RG_ERR_UPSTREAM_RESET');
});

t.test('upstream hangs → 504 RG_ERR_FIRST_BYTE_TIMEOUT, never before the configured time', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  await sim.setFault({ mode: 'hang' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }], { retry: { attempts: 1 }, timeouts: { firstByte: '300ms' } });
  const started = performance.now();
  const res = await post(gw.url);
  const elapsed = performance.now() - started;
  t.equal(res.statusCode, 504);
  t.equal(await errorOf(res), 'RG_ERR_FIRST_BYTE_TIMEOUT');
  // A lower bound only (a timer can fire late on a busy machine, never early; 5 ms for timer rounding).
  // How close to the setting it fires is a figure for bench/, not a test assertion.
  t.ok(elapsed >= 295, `fired after ${elapsed.toFixed(1)} ms, not before the 300 ms setting`);
});

t.test('upstream 5xx is passed through when no retry is possible', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  await sim.setFault({ mode: 'error', status: 503 });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const res = await post(gw.url);
  t.equal(res.statusCode, 503);
  t.equal(res.headers['x-regiongate-attempts'], '1');
  t.match(await res.body.json(), { error: {} });
});

t.test('a failed attempt is retried on another region before any byte reaches the client', async (t) => {
  const good = await startSim(t, { name: 'good' });
  // Probes off: a health probe reaching `good` after the replay would become its lastRequest.
  const quiet = { health: { probes: false } };
  const gw = await startGateway(t, [
    { name: 'dead', url: await refusedUrl(), priority: 0 },
    { name: 'good', url: good.url, priority: 1 },
  ], quiet);
  const res = await post(gw.url);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-regiongate-region'], 'good');
  t.equal(res.headers['x-regiongate-attempts'], '2');
  await res.body.dump();

  const bad = await startSim(t, { name: 'bad' });
  await bad.setFault({ mode: 'error', status: 502 });
  const gw2 = await startGateway(t, [
    { name: 'bad', url: bad.url, priority: 0 },
    { name: 'good', url: good.url, priority: 1 },
  ], quiet);
  const res2 = await post(gw2.url, chatBody(true));
  t.equal(res2.statusCode, 200, 'a retryable status is replaced by the next region');
  t.equal(res2.headers['x-regiongate-region'], 'good');
  t.match(await res2.body.text(), /data: \[DONE\]/);
  t.equal(forwardedCount(bad), 1, 'the bad region got the body once');
  t.equal(good.stats.lastRequest?.body, chatBody(true), 'the buffered body was replayed');
});

t.test('request body over the limit → 413, declared or chunked', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }], { limits: { bodyBytes: 1024 } });
  const declared = await post(gw.url, 'x'.repeat(2048));
  t.equal(declared.statusCode, 413);
  t.equal(await errorOf(declared), 'RG_ERR_BODY_TOO_LARGE');
  async function* chunks() {
    for (let i = 0; i < 4; i++) yield Buffer.alloc(512, 'y');
  }
  const chunked = await request(`${gw.url}/v1/embeddings`, { method: 'POST', body: Readable.from(chunks()) });
  t.equal(chunked.statusCode, 413);
  await chunked.body.dump();
  t.equal(forwardedCount(sim), 0, 'nothing reached the upstream');
  const fits = await post(gw.url, chatBody());
  t.equal(fits.statusCode, 200);
  await fits.body.dump();
});

t.test('request headers over the limit → 431', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }], { limits: { headerBytes: 2048 } });
  const res = await request(`${gw.url}/x`, { headers: { 'x-big': 'z'.repeat(4096) } });
  t.equal(res.statusCode, 431);
  t.equal(await errorOf(res), 'RG_ERR_HEADERS_TOO_LARGE');
});

t.test('a client too slow with its headers → 408', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }], { timeouts: { clientHeaders: '300ms', clientRequest: '600ms' } });
  // The gateway answering and closing at all is the test: the client never finishes its headers.
  const answer = await within('the gateway to answer a stalled client', new Promise<string>((resolve) => {
    const s = connect(Number(new URL(gw.url).port), '127.0.0.1', () => s.write('GET /x HTTP/1.1\r\nHost: x\r\n'));
    t.teardown(() => s.destroy());
    let buf = '';
    s.on('data', (d) => (buf += d));
    s.on('close', () => resolve(buf));
    s.on('error', () => resolve(buf));
  }));
  t.match(answer, /^HTTP\/1\.1 408/);
  t.match(answer, /RG_ERR_CLIENT_TIMEOUT/);
});

t.test('SSE events reach the client as the upstream writes them', async (t) => {
  // Lock step: the upstream writes event i+1 only after the client has received event i, so a gateway
  // that buffered (or held back the first event) would stall here, and the bound below names it.
  const frames = 8;
  let writeNext!: () => void;
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let i = 0;
    writeNext = () => {
      if (i < frames) res.write(`data: ${i++}\n\n`);
      else res.end('data: [DONE]\n\n');
    };
    writeNext();
  });
  const gw = await startGateway(t, [{ name: 'r', url: up.url }]);
  const res = await request(`${gw.url}/events`);
  t.equal(res.statusCode, 200);
  const received: string[] = [];
  let text = '';
  const lockStep = async (): Promise<void> => {
    for await (const chunk of res.body) {
      text += String(chunk);
      const before = received.length;
      while (received.length < frames && text.includes(`data: ${received.length}\n\n`)) received.push(String(received.length));
      if (received.length > before) writeNext();
    }
  };
  await within(() => `event ${received.length} to reach the client before the upstream writes more`, lockStep());
  t.same(received, ['0', '1', '2', '3', '4', '5', '6', '7'], 'every event arrived before the next was written');
  t.match(text, /data: \[DONE\]\n\n$/);
});

t.test('a client that disconnects aborts its upstream request', async (t) => {
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    const timer = setInterval(() => res.write('data: more\n\n'), 20);
    res.on('close', () => {
      clearInterval(timer);
      upstreamClosed();
    });
  });
  const gw = await startGateway(t, [{ name: 'r', url: up.url }]);
  const ac = new AbortController();
  const res = await request(`${gw.url}/stream`, { signal: ac.signal });
  for await (const _chunk of res.body) {
    ac.abort();
    break;
  }
  await closed;
  t.pass('upstream saw its request closed');
  t.equal(gw.gateway.inflight, 0, 'exchange released');
});

t.test('an upstream dying mid-stream ends the client response abnormally', async (t) => {
  const sim = await startSim(t, { name: 'r', tokens: 10, tokenIntervalMs: 5 });
  await sim.setFault({ mode: 'reset', afterTokens: 3 });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const res = await post(gw.url, chatBody(true));
  t.equal(res.statusCode, 200, 'headers were already sent');
  let text = '';
  const err = await (async () => {
    try {
      for await (const c of res.body) text += c;
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.ok(err, 'the client sees an error, not a clean end');
  t.notMatch(text, /\[DONE\]/);
  t.match(text, /event: error\ndata: \{"error":\{.*"code":"RG_ERR_UPSTREAM_BROKEN"/, 'SSE clients are told why');
  t.notMatch(text, /before answering/, 'not told the endpoint never answered: tokens were sent');
  t.match(text, /broke off after it had started/);
});

t.test('an upstream stalling between body chunks → idle timeout cuts the response', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write('part');
  });
  const gw = await startGateway(t, [{ name: 'r', url: up.url }], { timeouts: { idle: '200ms' } });
  const res = await request(`${gw.url}/x`);
  await t.rejects(res.body.text(), 'body ends with an error');
});

t.test('the total request deadline → 504 RG_ERR_REQUEST_TIMEOUT', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  // The upstream would answer in a minute: only the 250 ms deadline can end this request.
  await sim.setFault({ mode: 'slow', delayMs: 60_000 });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }], { timeouts: { request: '250ms' } });
  const res = await post(gw.url);
  t.equal(res.statusCode, 504);
  t.equal(await errorOf(res), 'RG_ERR_REQUEST_TIMEOUT');
});

t.test('no endpoint serves the model → 404 model_not_found (RG_ERR_MODEL_NOT_FOUND), as OpenAI answers', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url, models: ['other'] }]);
  const res = await post(gw.url);
  t.equal(res.statusCode, 404);
  t.equal(res.headers['x-regiongate-error'], 'RG_ERR_MODEL_NOT_FOUND');
  t.equal(await errorOf(res), 'model_not_found');
});
