// WebSocket upgrades under the rules of a plain request: header rules (the endpoint's Host, endpoint
// headers win, nothing proxy-only or gateway-owned forwarded), data residency (model from `?model=`),
// the endpoint's `connections` as a cap on open tunnels, connect/handshake/idle timeouts, and every
// failure answered as a proper HTTP response. Raw-socket clients: fetch cannot send an upgrade.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { resolveConfig, type GatewayConfigInput } from '../src/config/index.js';
import { createGateway, type RunningGateway } from '../src/create-gateway.js';
import { refusedUrl, startGateway, startSim, type Teardown } from './helpers/gateway.js';
import { closed, portOf, rawRequest } from './helpers/raw-http.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function upgradeBytes(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: api.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n${extra}\r\n`;
}

interface WsUpstream {
  url: string;
  /** Upgrade requests received, in order. */
  seen: IncomingMessage[];
  /** Upstream sockets, for waiting on their close. */
  sockets: Socket[];
}

/** A node:http upstream whose 'upgrade' handler is the test's (default: 101, then echo). */
async function wsUpstream(t: Teardown, onUpgrade?: (req: IncomingMessage, socket: Socket) => void): Promise<WsUpstream> {
  const seen: IncomingMessage[] = [];
  const sockets: Socket[] = [];
  const server = createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    seen.push(req);
    sockets.push(socket);
    socket.on('error', () => socket.destroy());
    if (onUpgrade) return onUpgrade(req, socket);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'X-Request-Id: upstream-id\r\nX-Regiongate-Region: spoofed\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end()); // as WebSocket servers do
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, sockets };
}

/** A gateway over endpoints given in full (the shared helper has no `connections`). */
async function gatewayOver(t: Teardown, regions: GatewayConfigInput['regions'], extra: Partial<GatewayConfigInput> = {}): Promise<RunningGateway> {
  const config = resolveConfig({ listen: { host: '127.0.0.1', port: 0 }, admin: { enabled: false }, log: { level: 'silent' }, ...extra, regions }, {});
  const gw = createGateway(config);
  await gw.listen();
  t.teardown(() => gw.close(0, 0));
  return gw;
}

/** Write `data` on an open tunnel and resolve once it comes back. */
function echoed(socket: Socket, data: string): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (buf.includes(data)) {
        socket.off('data', onData);
        resolve(buf);
      }
    };
    socket.on('data', onData);
    socket.write(data);
  });
}

t.test('an upgrade is forwarded under the header rules of a plain request', async (t) => {
  const up = await wsUpstream(t);
  const gw = await startGateway(t, [{ name: 'eu', url: up.url, headers: { Authorization: 'Bearer sk-endpoint' } }]);
  const a = await rawRequest(
    portOf(gw.url),
    upgradeBytes(
      '/v1/realtime?model=gpt-4o-realtime',
      'Proxy-Authorization: Basic c2VjcmV0\r\nAuthorization: Bearer client\r\nX-Regiongate-Regions: eu\r\n' +
        'X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Request-Id: client-7\r\n',
    ),
  );
  t.teardown(() => a.socket.destroy());
  t.equal(a.status, 101);
  const h = up.seen[0].headers;
  t.equal(h.host, new URL(up.url).host, "Host is the endpoint's");
  t.equal(h.authorization, 'Bearer sk-endpoint', 'endpoint headers win');
  t.notOk(h['proxy-authorization'], 'Proxy-Authorization is not forwarded');
  t.notOk(h['x-regiongate-regions'], 'x-regiongate-regions is not forwarded');
  t.equal(h['x-forwarded-for'], '127.0.0.1', 'spoofed x-forwarded-for replaced');
  t.equal(h['x-real-ip'], '127.0.0.1');
  t.equal(h['x-request-id'], 'client-7');
  t.equal(h['sec-websocket-key'], KEY, 'the WebSocket handshake headers pass');
  t.equal(h.upgrade, 'websocket');
  t.equal(up.seen[0].url, '/v1/realtime?model=gpt-4o-realtime');
  t.equal(a.headers['x-request-id'], 'client-7', "one request id, the gateway's");
  t.equal(a.headers['x-regiongate-region'], 'eu', 'the upstream cannot spoof the region');
  t.equal(a.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  t.match(await echoed(a.socket, 'ping-42'), /ping-42/, 'bytes flow through the tunnel');
});

t.test('upgrades obey data residency: the model comes from ?model=, and is required where rules name models', async (t) => {
  const us = await startSim(t, { name: 'us' });
  const eu = await startSim(t, { name: 'eu' });
  const gw = await startGateway(t, [{ name: 'us', url: us.url }, { name: 'eu', url: eu.url }], {
    routing: { rules: [{ model: 'gpt-4o-realtime-eu', regions: ['eu'] }] },
  });
  const port = portOf(gw.url);
  const none = await rawRequest(port, upgradeBytes('/v1/realtime'));
  t.equal(none.status, 400);
  t.equal(none.headers['x-regiongate-error'], 'RG_ERR_MODEL_REQUIRED');
  t.match(JSON.parse(none.body), { error: { code: 'RG_ERR_MODEL_REQUIRED' } });
  for (let i = 0; i < 6; i++) {
    const a = await rawRequest(port, upgradeBytes('/v1/realtime?model=gpt-4o-realtime-eu'));
    t.equal(a.status, 101);
    t.equal(a.headers['x-regiongate-region'], 'eu', `tunnel ${i} is in eu`);
    a.socket.destroy();
  }
  const elsewhere = await rawRequest(port, upgradeBytes('/v1/realtime?model=gpt-4o-realtime-eu', 'X-Regiongate-Regions: us\r\n'));
  t.equal(elsewhere.status, 503, 'x-regiongate-regions narrows within the rules, never widens');
  t.equal(elsewhere.headers['x-regiongate-error'], 'RG_ERR_NO_ENDPOINT');
  const narrowed = await rawRequest(port, upgradeBytes('/v1/realtime?model=other', 'X-Regiongate-Regions: us\r\n'));
  t.equal(narrowed.headers['x-regiongate-region'], 'us', 'x-regiongate-regions is honoured');
  narrowed.socket.destroy();
});

t.test("open tunnels count against the endpoint's connections: beyond, 503 RG_ERR_TUNNEL_LIMIT with Retry-After", async (t) => {
  const up = await wsUpstream(t);
  const gw = await gatewayOver(t, [{ name: 'eu', endpoints: [{ url: up.url, connections: 1 }] }]);
  const port = portOf(gw.url);
  const first = await rawRequest(port, upgradeBytes('/v1/realtime'));
  t.equal(first.status, 101);
  const second = await rawRequest(port, upgradeBytes('/v1/realtime'));
  t.equal(second.status, 503);
  t.equal(second.headers['x-regiongate-error'], 'RG_ERR_TUNNEL_LIMIT');
  t.equal(second.headers['retry-after'], '1');
  t.equal(up.seen.length, 1, 'no second upstream connection was opened');
  // The gateway counts the tunnel closed before it cuts the upstream side; wait for that cut.
  const upstreamSide = closed(up.sockets[0]);
  first.socket.destroy();
  await upstreamSide;
  const third = await rawRequest(port, upgradeBytes('/v1/realtime'));
  t.equal(third.status, 101, 'a closed tunnel frees its slot');
  third.socket.destroy();
});

t.test('an upgrade the endpoint never answers gets 504 RG_ERR_FIRST_BYTE_TIMEOUT as an HTTP response', async (t) => {
  const up = await wsUpstream(t, (_req, socket) => socket.on('end', () => socket.end())); // never answers
  const gw = await startGateway(t, [{ name: 'eu', url: up.url }], { timeouts: { firstByte: 200 } });
  const a = await rawRequest(portOf(gw.url), upgradeBytes('/v1/realtime'));
  t.equal(a.status, 504);
  t.equal(a.headers['x-regiongate-error'], 'RG_ERR_FIRST_BYTE_TIMEOUT');
  t.equal(a.headers['x-regiongate-region'], 'eu');
  t.match(JSON.parse(a.body), { error: { code: 'RG_ERR_FIRST_BYTE_TIMEOUT' } });
  await closed(up.sockets[0]);
  t.pass('the upstream connection was closed');
});

t.test('an endpoint that refuses connections gets 502 RG_ERR_UPSTREAM_CONNECT as an HTTP response', async (t) => {
  const gw = await startGateway(t, [{ name: 'eu', url: await refusedUrl() }]);
  const a = await rawRequest(portOf(gw.url), upgradeBytes('/v1/realtime'));
  t.equal(a.status, 502);
  t.equal(a.headers['x-regiongate-error'], 'RG_ERR_UPSTREAM_CONNECT');
  t.equal(a.headers['content-type'], 'application/json');
});

t.test('an idle tunnel is closed after timeouts.idle, on both sides', async (t) => {
  const up = await wsUpstream(t);
  const gw = await startGateway(t, [{ name: 'eu', url: up.url }], { timeouts: { idle: 200 } });
  const a = await rawRequest(portOf(gw.url), upgradeBytes('/v1/realtime'));
  t.equal(a.status, 101);
  t.match(await echoed(a.socket, 'still-alive'), /still-alive/);
  await Promise.all([closed(a.socket), closed(up.sockets[0])]);
  t.pass('both sides closed once the tunnel went quiet');
});

t.test("an endpoint's non-101 answer to an upgrade is relayed as an HTTP response", async (t) => {
  const up = await wsUpstream(t, (_req, socket) => {
    const body = '{"error":{"message":"bad key"}}';
    socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nx-request-id: upstream\r\n\r\n${body}`);
  });
  const gw = await startGateway(t, [{ name: 'eu', url: up.url }]);
  const a = await rawRequest(portOf(gw.url), upgradeBytes('/v1/realtime'));
  t.equal(a.status, 401);
  t.equal(a.body, '{"error":{"message":"bad key"}}');
  t.equal(a.headers['x-regiongate-region'], 'eu');
  t.not(a.headers['x-request-id'], 'upstream');
});

t.test('only WebSocket upgrades with GET are forwarded: h2c would tunnel past every rule', async (t) => {
  const up = await wsUpstream(t);
  const gw = await startGateway(t, [{ name: 'eu', url: up.url }]);
  const port = portOf(gw.url);
  const h2c = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
  t.equal(h2c.status, 400);
  t.equal(h2c.headers['x-regiongate-error'], 'RG_ERR_BAD_UPGRADE');
  const post = await rawRequest(port, 'POST /v1/realtime HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n');
  t.equal(post.status, 400);
  const dots = await rawRequest(port, upgradeBytes('/..%2f..%2fadmin'));
  t.equal(dots.status, 400, 'paths are checked on upgrades too');
  t.equal(dots.headers['x-regiongate-error'], 'RG_ERR_AMBIGUOUS_PATH');
  t.equal(up.seen.length, 0, 'nothing reached the endpoint');
});

t.test('an absolute-form upgrade target is refused: it would name another host to the endpoint', async (t) => {
  const up = await wsUpstream(t);
  const gw = await startGateway(t, [{ name: 'eu', url: up.url }]);
  const a = await rawRequest(portOf(gw.url), upgradeBytes('http://tenant-b.internal/v1/realtime'));
  t.equal(a.status, 400);
  t.equal(a.headers['x-regiongate-error'], 'RG_ERR_BAD_REQUEST');
  t.equal(up.seen.length, 0, 'nothing reached the endpoint');
});

t.test('the endpoint gets the path exactly as routed, under its base path (no re-joining of slashes)', async (t) => {
  const up = await wsUpstream(t);
  const gw = await startGateway(t, [{ name: 'eu', url: `${up.url}/tenant-a` }]);
  const a = await rawRequest(portOf(gw.url), upgradeBytes('/v1//realtime/http:/x?model=m&next=/a//b'));
  t.teardown(() => a.socket.destroy());
  t.equal(a.status, 101);
  t.equal(up.seen[0].url, '/tenant-a/v1//realtime/http:/x?model=m&next=/a//b');
});

t.test("a chunked non-101 answer is relayed without the endpoint's framing headers", async (t) => {
  const up = await wsUpstream(t, (_req, socket) => {
    // A keep-alive answer: the socket stays open after the last chunk, until the gateway ends it.
    socket.on('end', () => socket.end());
    socket.write('HTTP/1.1 426 Upgrade Required\r\ntransfer-encoding: chunked\r\nx-regiongate-endpoint: spoofed\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
  });
  const gw = await startGateway(t, [{ name: 'eu', url: up.url }]);
  const a = await rawRequest(portOf(gw.url), upgradeBytes('/v1/realtime'));
  t.equal(a.status, 426);
  t.notOk(a.headers['transfer-encoding'], 'the body is de-chunked, so no chunked framing is claimed');
  t.equal(a.headers.connection, 'close');
  t.equal(a.body, 'hello world', 'the body ends with the connection');
  t.not(a.headers['x-regiongate-endpoint'], 'spoofed');
  await closed(up.sockets[0]);
  t.pass("the endpoint's connection was closed after the answer");
});

t.test('a tunnel the endpoint closes frees its slot', async (t) => {
  const up = await wsUpstream(t);
  const gw = await gatewayOver(t, [{ name: 'eu', endpoints: [{ url: up.url, connections: 1 }] }]);
  const port = portOf(gw.url);
  const first = await rawRequest(port, upgradeBytes('/v1/realtime'));
  t.equal(first.status, 101);
  const clientSide = closed(first.socket);
  up.sockets[0].end();
  await clientSide;
  const second = await rawRequest(port, upgradeBytes('/v1/realtime'));
  t.equal(second.status, 101, "the endpoint's FIN ended the tunnel and released its slot");
  second.socket.destroy();
});

t.test('closing the gateway cuts every open tunnel, on both sides', async (t) => {
  const up = await wsUpstream(t);
  const config = resolveConfig({ listen: { host: '127.0.0.1', port: 0 }, admin: { enabled: false }, log: { level: 'silent' }, regions: [{ name: 'eu', endpoints: [{ url: up.url }] }] }, {});
  const gw = createGateway(config);
  await gw.listen();
  const port = portOf(gw.url);
  const tunnels = [await rawRequest(port, upgradeBytes('/v1/realtime')), await rawRequest(port, upgradeBytes('/v1/realtime'))];
  t.same(tunnels.map((a) => a.status), [101, 101]);
  const cut = Promise.all([...tunnels.map((a) => closed(a.socket)), ...up.sockets.map((s) => closed(s))]);
  await gw.close(0, 0);
  await cut;
  t.pass('both tunnels were cut at both ends');
});

t.test('an endpoint header value with CR/LF is a config error, never a request-time crash', async (t) => {
  const up = await wsUpstream(t);
  await t.rejects(
    startGateway(t, [{ name: 'eu', url: up.url, headers: { 'X-Tenant': 'a\r\nX-Injected: 1' } }]),
    /regions\[0\]\.endpoints\[0\]\.headers\.X-Tenant: must not contain CR, LF or NUL/,
  );
  t.equal(up.seen.length, 0, 'nothing was sent');
});

/**
 * An address where a TCP connect hangs: a listener in a child process with an accept queue of one (`backlog: 0` means Node's default),
 * stopped (SIGSTOP) so it never accepts, and its queue filled. The kernel then drops further SYNs.
 */
async function hangingConnectUrl(t: Teardown): Promise<string> {
  const script = "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port);process.kill(process.pid,'SIGSTOP')})";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  // The child stops itself right after printing, before its event loop could accept anything.
  const port = Number(await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
  // Linux queues backlog + 1 connections: these two complete in the kernel while the child sleeps.
  const fill = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
  for (const s of fill) s.on('error', () => s.destroy());
  t.teardown(() => fill.forEach((s) => s.destroy()));
  await Promise.all(fill.map((s) => new Promise<void>((resolve) => s.once('connect', resolve))));
  return `http://127.0.0.1:${port}`;
}

t.test('an upgrade whose connect hangs gets 504 RG_ERR_UPSTREAM_CONNECT_TIMEOUT after timeouts.connect', async (t) => {
  const url = await hangingConnectUrl(t);
  const gw = await startGateway(t, [{ name: 'eu', url }], { timeouts: { connect: 200, firstByte: 60_000 } });
  const a = await rawRequest(portOf(gw.url), upgradeBytes('/v1/realtime'));
  t.equal(a.status, 504);
  t.equal(a.headers['x-regiongate-error'], 'RG_ERR_UPSTREAM_CONNECT_TIMEOUT');
  t.match(JSON.parse(a.body), { error: { code: 'RG_ERR_UPSTREAM_CONNECT_TIMEOUT' } });
});
