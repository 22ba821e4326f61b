import t from 'tap';
import { connect } from 'node:net';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import { startGateway, startSim, startUpstream } from './helpers/gateway.js';

interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  region: string;
}

t.test('any method, path, query string and body is forwarded', async (t) => {
  const sim = await startSim(t, { name: 'us-east-1' });
  const gw = await startGateway(t, [{ name: 'us-east-1', url: sim.url }]);
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const body = method === 'GET' || method === 'OPTIONS' ? undefined : `{"n":"${method}"}`;
    const res = await request(`${gw.url}/some/deep/path?x=1&y=%20two`, { method, body, headers: { 'content-type': 'application/json' } });
    t.equal(res.statusCode, 200, method);
    const echo = (await res.body.json()) as Echo;
    t.equal(echo.method, method);
    t.equal(echo.path, '/some/deep/path');
    t.equal(echo.query, 'x=1&y=%20two');
    t.equal(echo.body, body ?? '');
  }
});

t.test('the endpoint URL path is a prefix of every forwarded path', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: `${sim.url}/prefix/` }]);
  const res = await request(`${gw.url}/v1/thing?q=1`);
  const echo = (await res.body.json()) as Echo;
  t.equal(echo.path, '/prefix/v1/thing');
});

t.test('request headers: forwarded-for/proto/host, via, request id, endpoint headers, hop-by-hop stripped', async (t) => {
  const sim = await startSim(t, { name: 'us-east-1' });
  const gw = await startGateway(t, [{ name: 'us-east-1', url: sim.url, headers: { Authorization: 'Bearer sk-upstream' } }]);
  // node:http, because undici refuses to send hop-by-hop headers at all.
  const res = await rawRequest(`${gw.url}/echo`, {
    method: 'POST',
    body: 'hello',
    headers: {
      host: 'api.example.com',
      'x-forwarded-for': '203.0.113.7',
      authorization: 'Bearer client-key',
      connection: 'keep-alive, x-private',
      'x-private': 'drop me',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic Zm9v',
      'x-custom': 'kept',
    },
  });
  t.equal(res.statusCode, 200);
  const echo = JSON.parse(res.body) as Echo;
  const h = echo.headers;
  t.equal(h['x-forwarded-for'], '127.0.0.1', 'a client-sent x-forwarded-for is replaced: no proxy is trusted by default');
  t.equal(h['x-forwarded-proto'], 'http');
  t.equal(h['x-forwarded-host'], 'api.example.com');
  t.equal(h.via, '1.1 regiongate');
  t.equal(h.authorization, 'Bearer sk-upstream', 'endpoint headers from config win');
  t.equal(h['x-custom'], 'kept');
  t.notOk(h['x-private'], 'header named in Connection stripped');
  t.notOk(h['keep-alive'], 'keep-alive stripped');
  t.notOk(h.te, 'te stripped');
  t.notOk(h['proxy-authorization'], 'proxy-authorization stripped');
  t.match(h['x-request-id'], /^[0-9a-f-]{36}$/, 'request id generated');
  t.equal(res.headers['x-request-id'], h['x-request-id'], 'request id echoed to the client');
  t.equal(res.headers['x-regiongate-region'], 'us-east-1');
  t.equal(res.headers['x-regiongate-endpoint'], 'us-east-1-0');
  t.equal(res.headers['x-regiongate-attempts'], '1');
  t.notOk(String(res.headers['x-regiongate-endpoint']).includes('127.0.0.1'), 'endpoint id is not the URL');

  const kept = await request(`${gw.url}/echo`, { headers: { 'x-request-id': 'client-chosen-42' } });
  t.equal(((await kept.body.json()) as Echo).headers['x-request-id'], 'client-chosen-42');
  t.equal(kept.headers['x-request-id'], 'client-chosen-42');
});

t.test('response hop-by-hop headers are stripped, others kept', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.setHeader('connection', 'keep-alive, x-hop');
    res.setHeader('x-hop', 'secret');
    res.setHeader('proxy-authenticate', 'Basic');
    res.setHeader('x-model-version', '7');
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.end('ok');
  });
  const gw = await startGateway(t, [{ name: 'r', url: up.url }]);
  const res = await request(`${gw.url}/`);
  t.equal(await res.body.text(), 'ok');
  t.notOk(res.headers['x-hop']);
  t.notOk(res.headers['proxy-authenticate']);
  t.equal(res.headers['x-model-version'], '7');
  t.same(res.headers['set-cookie'], ['a=1', 'b=2'], 'repeated headers kept');
  t.equal(res.headers.via, '1.1 regiongate');
});

t.test('a chat completion, JSON and streamed, and the models list', async (t) => {
  const sim = await startSim(t, { name: 'us-east-1', tokens: 5, models: ['gpt-4o-mini'] });
  const gw = await startGateway(t, [{ name: 'us-east-1', url: sim.url }]);
  const chat = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  t.equal(chat.statusCode, 200);
  const json = (await chat.body.json()) as { object: string; model: string };
  t.equal(json.object, 'chat.completion');
  t.equal(json.model, 'gpt-4o-mini');

  const stream = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [] }),
  });
  t.match(stream.headers['content-type'], /text\/event-stream/);
  const text = await stream.body.text();
  t.match(text, /data: \[DONE\]\n\n$/);
  t.equal(text.match(/^data: /gm)?.length, 6, '5 tokens and [DONE]');

  const models = await request(`${gw.url}/v1/models`);
  t.equal(models.statusCode, 200);
  t.match(await models.body.json(), { object: 'list' });
});

t.test('a malformed request line gets 400, not a crash', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const port = Number(new URL(gw.url).port);
  const answer = await new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write('GARBAGE\r\n\r\n'));
    let buf = '';
    s.on('data', (d) => (buf += d));
    s.on('close', () => resolve(buf));
  });
  t.match(answer, /^HTTP\/1\.1 400/);
  t.match(answer, /RG_ERR_BAD_REQUEST/);
  const after = await request(`${gw.url}/x`);
  t.equal(after.statusCode, 200, 'gateway still serving');
  await after.body.dump();
});

t.test('WebSocket upgrade passes through to the endpoint', async (t) => {
  const sim = await startSim(t, { name: 'eu' });
  const gw = await startGateway(t, [{ name: 'eu', url: sim.url }]);
  const port = Number(new URL(gw.url).port);
  const got = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () =>
      s.write(
        'GET /v1/realtime HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    let buf = '';
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n\r\n') && !buf.includes('ping-42')) s.write('ping-42');
      if (buf.includes('ping-42')) {
        s.destroy();
        resolve(buf);
      }
    });
  });
  t.match(got, /^HTTP\/1\.1 101/);
  t.match(got, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  t.match(got, /ping-42/, 'bytes echoed through the tunnel');
});

function rawRequest(
  url: string,
  opts: { method: string; body: string; headers: Record<string, string> },
): Promise<{ statusCode: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
