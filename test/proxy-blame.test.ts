// Failures are blamed on what caused them (issue 8): a client's Expect, an upstream's 1xx, a busy
// endpoint's connection queue, a slow generation and an unrecognised error never eject a healthy endpoint.
// Real gateway, real upstreams, raw sockets where a client library cannot send the bytes.
import t from 'tap';
import { once } from 'node:events';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startGateway, startUpstream, type Teardown } from './helpers/gateway.js';

const chat = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

/** Send raw bytes and collect everything the gateway writes until it closes or `until` matches. */
async function raw(url: string, bytes: string, until: RegExp): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setEncoding('latin1');
  let seen = '';
  await once(socket, 'connect');
  socket.write(bytes);
  await new Promise<void>((resolve) => {
    socket.on('data', (d: string) => {
      seen += d;
      if (until.test(seen)) resolve();
    });
    socket.on('close', () => resolve());
  });
  socket.destroy();
  return seen;
}

/** Wait for a raw-socket reply to contain `pattern`, then return the socket and what it said so far. */
function reader(socket: Socket): (pattern: RegExp) => Promise<string> {
  let seen = '';
  const waiters: { pattern: RegExp; resolve: (s: string) => void }[] = [];
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    seen += d;
    for (const w of [...waiters]) if (w.pattern.test(seen)) w.resolve(seen);
  });
  return (pattern) => (pattern.test(seen) ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pattern, resolve })));
}

t.test('Expect: 100-continue is answered by the gateway and never forwarded; no endpoint is blamed', async (t) => {
  const seenExpect: (string | undefined)[] = [];
  const a = await startUpstream(t, (req, res) => {
    seenExpect.push(req.headers.expect);
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }], { health: { probes: false } });
  const body = 'x'.repeat(2000);
  for (let i = 0; i < 6; i++) {
    const { hostname, port } = new URL(gw.url);
    const socket = connect(Number(port), hostname);
    const read = reader(socket);
    await once(socket, 'connect');
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nexpect: 100-continue\r\n\r\n`,
    );
    const interim = await read(/HTTP\/1.1 100 Continue\r\n\r\n/);
    t.match(interim, /^HTTP\/1.1 100 Continue/, `request ${i}: told to continue before sending the body`);
    socket.write(body);
    const all = await read(/\{"ok":true\}/);
    t.match(all, /HTTP\/1.1 200 OK/, `request ${i}: answered by the endpoint`);
    socket.destroy();
  }
  t.same(seenExpect, Array(6).fill(undefined), 'the expectation never reached the endpoint');
  t.equal(gw.health.state(gw.registry.endpoints[0]), 'healthy', 'six such requests ejected nothing');
  const ready = await request(`${gw.url}/readyz`);
  t.equal(ready.statusCode, 200);
  await ready.body.dump();
});

t.test('Expect: 100-continue with a body over the limit gets 413 without a 100', async (t) => {
  const a = await startUpstream(t, (_req, res) => res.end('never'));
  const gw = await startGateway(t, [{ name: 'a', url: a.url }], { health: { probes: false }, limits: { bodyBytes: 1000 } });
  const reply = await raw(
    gw.url,
    'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 5000\r\nexpect: 100-continue\r\n\r\n',
    /RG_ERR_BODY_TOO_LARGE"\}\}/,
  );
  t.notMatch(reply, /100 Continue/);
  t.match(reply, /^HTTP\/1.1 413 /);
});

/** A raw upstream that sends an interim response before its final answer. */
async function interimUpstream(t: Teardown, interim: string): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createNetServer((s) => {
    s.on('error', () => s.destroy());
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      // One request at a time: answer once the whole (small) body is in.
      const head = buf.indexOf('\r\n\r\n');
      const len = Number(/content-length: (\d+)/i.exec(buf)?.[1] ?? 0);
      if (head !== -1 && buf.length >= head + 4 + len) {
        buf = '';
        requests++;
        s.write(`${interim}HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

t.test('an upstream 1xx is not a failure: 103 passes, an unsolicited 100 is retried elsewhere and blames nobody', async (t) => {
  const hints = await interimUpstream(t, 'HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n');
  const gw1 = await startGateway(t, [{ name: 'hints', url: hints.url }], { health: { probes: false } });
  const res = await request(`${gw1.url}/v1/chat/completions`, { method: 'POST', body: chat, headers: { 'content-type': 'application/json' } });
  t.equal(res.statusCode, 200, '103 Early Hints then 200: the client gets the 200');
  await res.body.dump();

  const cont = await interimUpstream(t, 'HTTP/1.1 100 Continue\r\n\r\n');
  const good = await startUpstream(t, (req, res2) => {
    req.resume();
    req.on('end', () => res2.end('{"ok":"good"}'));
  });
  const gw = await startGateway(t, [{ name: 'cont', url: cont.url }, { name: 'good', url: good.url, priority: 1 }], { health: { probes: false } });
  for (let i = 0; i < 5; i++) {
    const r = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat, headers: { 'content-type': 'application/json' } });
    t.equal(r.statusCode, 200, `request ${i} answered`);
    await r.body.dump();
  }
  t.ok(cont.requests() >= 1, 'the interim-sending endpoint was tried');
  t.equal(gw.health.state(gw.registry.endpoints[0]), 'healthy', 'a 1xx never ejects');
});

t.test('waiting for a busy endpoint\'s connection is not a connect timeout', async (t) => {
  const held: (() => void)[] = [];
  let received = 0;
  const busy = await startUpstream(t, (req, res) => {
    received++;
    req.resume();
    if (req.headers['x-warm'] !== undefined) return void req.on('end', () => res.end('{}'));
    held.push(() => res.end('{"from":"busy"}'));
  });
  const gw = await startGateway(t, [{ name: 'busy', url: busy.url, connections: 1 }], {
    health: { probes: false },
    timeouts: { connect: '50ms', queue: '30s', request: '20s' },
  });
  const send = (headers: Record<string, string> = {}) =>
    request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat, headers: { 'content-type': 'application/json', ...headers } });
  // Warm the one keep-alive connection, so no real connect is timed below: only the queue wait.
  const warm = await send({ 'x-warm': '1' });
  t.equal(warm.statusCode, 200, 'warm-up');
  await warm.body.dump();
  const first = send();
  const settled = (p: Promise<unknown>) => {
    let done = false;
    void p.then(() => (done = true), () => (done = true));
    return () => done;
  };
  const firstDone = settled(first);
  while (received < 2 && !firstDone()) await new Promise((r) => setImmediate(r));
  t.equal(received, 2, 'the first request holds the only connection');
  const second = send(); // waits in the queue
  const endpoint = gw.registry.endpoints[0];
  while (gw.health.inflight(endpoint) < 2) await new Promise((r) => setImmediate(r));
  // Let the queued attempt wait well past the connect timeout (50 ms): the old code called it a connect timeout.
  await new Promise((r) => setTimeout(r, 200));
  t.equal(gw.health.state(endpoint), 'healthy', 'queue wait is not the endpoint\'s fault');
  t.equal(received, 2, 'the second request has not left the gateway');
  held.shift()?.();
  const r1 = await first;
  t.equal(r1.statusCode, 200);
  await r1.body.dump();
  const secondDone = settled(second);
  while (received < 3 && !secondDone()) await new Promise((r) => setImmediate(r));
  held.shift()?.();
  const r2 = await second;
  t.equal(r2.statusCode, 200, 'the queued request was sent once the connection was free');
  await r2.body.dump();
  t.equal(gw.health.state(endpoint), 'healthy');
});

t.test('a full endpoint\'s queue is bounded by timeouts.queue: 503 RG_ERR_QUEUE_TIMEOUT, nobody blamed', async (t) => {
  let release: (() => void) | undefined;
  let got = 0;
  const busy = await startUpstream(t, (req, res) => {
    got++;
    req.resume();
    release = () => res.end('{}');
  });
  const gw = await startGateway(t, [{ name: 'busy', url: busy.url, connections: 1 }], {
    health: { probes: false },
    timeouts: { queue: '100ms' },
  });
  const send = () => request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat, headers: { 'content-type': 'application/json' } });
  const first = send();
  let firstDone = false;
  void first.then(() => (firstDone = true), () => (firstDone = true));
  while (got < 1 && !firstDone) await new Promise((r) => setImmediate(r));
  const second = await send();
  t.equal(second.statusCode, 503);
  t.equal(second.headers['x-regiongate-error'], 'RG_ERR_QUEUE_TIMEOUT');
  t.equal(second.headers['retry-after'], '1');
  await second.body.dump();
  t.equal(gw.health.state(gw.registry.endpoints[0]), 'healthy');
  release?.();
  await (await first).body.dump();
});

t.test('a busy endpoint spills to one with a free connection', async (t) => {
  const got = { busy: 0, free: 0 };
  const releases: (() => void)[] = [];
  const busy = await startUpstream(t, (req, res) => {
    got.busy++;
    req.resume();
    releases.push(() => res.end('{}'));
  });
  const free = await startUpstream(t, (req, res) => {
    got.free++;
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  const gw = await startGateway(t, [{ name: 'busy', url: busy.url, connections: 1 }, { name: 'free', url: free.url, connections: 1 }], {
    health: { probes: false },
  });
  const send = (regions?: string) =>
    request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      body: chat,
      headers: { 'content-type': 'application/json', ...(regions ? { 'x-regiongate-regions': regions } : {}) },
    });
  const pinned = send('busy');
  let pinnedDone = false;
  void pinned.then(() => (pinnedDone = true), () => (pinnedDone = true));
  while (got.busy < 1 && !pinnedDone) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 10; i++) {
    const r = await send();
    t.equal(r.headers['x-regiongate-region'], 'free', `request ${i} went where a connection was free`);
    await r.body.dump();
  }
  for (const r of releases) r();
  await (await pinned).body.dump();
});

t.test('a slow generation on a live endpoint is not ejected and not silently run again elsewhere', async (t) => {
  const got = { slow: 0, other: 0 };
  const slow = await startUpstream(t, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      if (body.includes('long')) {
        got.slow++;
        return; // a long non-streamed generation: no headers until it is done
      }
      res.end('{"quick":true}');
    });
  });
  const other = await startUpstream(t, (req, res) => {
    got.other++;
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  const gw = await startGateway(t, [{ name: 'slow', url: slow.url }, { name: 'other', url: other.url, priority: 1 }], {
    health: { probes: false },
    timeouts: { firstByte: '4s' },
  });
  const longBody = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'long' }] });
  const long = request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: longBody, headers: { 'content-type': 'application/json' } });
  let longDone = false;
  void long.then(() => (longDone = true), () => (longDone = true));
  while (got.slow < 1 && !longDone) await new Promise((r) => setImmediate(r));
  // Meanwhile the endpoint keeps answering others: it is alive (asked in a loop, so some answer lands
  // inside the first-byte window however loaded the machine is).
  let quickOk = 0;
  while (!longDone) {
    const quick = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      body: chat,
      headers: { 'content-type': 'application/json', 'x-regiongate-regions': 'slow' },
    });
    if (quick.statusCode === 200) quickOk++;
    await quick.body.dump();
    await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(quickOk > 0, 'the endpoint answered other requests meanwhile');
  const res = await long;
  t.equal(res.statusCode, 504, "the operator's explicit firstByte still holds");
  t.equal(res.headers['x-regiongate-error'], 'RG_ERR_FIRST_BYTE_TIMEOUT');
  t.equal(res.headers['x-regiongate-attempts'], '1', 'not run again in another region');
  await res.body.dump();
  t.equal(got.other, 0, 'the other region never saw it');
  t.equal(gw.health.state(gw.registry.endpoints[0]), 'healthy', 'a live, slow endpoint is not ejected');
});

t.test('a hung endpoint is still escaped within the first-byte limit and then ejected', async (t) => {
  const hung = await startUpstream(t, (req) => req.resume());
  const other = await startUpstream(t, (req, res) => {
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  const gw = await startGateway(t, [{ name: 'hung', url: hung.url }, { name: 'other', url: other.url, priority: 1 }], {
    health: { probes: false },
    timeouts: { firstByte: '200ms' },
  });
  const send = () => request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat, headers: { 'content-type': 'application/json' } });
  let escaped = 0;
  for (let i = 0; i < 2; i++) {
    const r = await send();
    t.equal(r.statusCode, 200, `request ${i} answered`);
    if (r.headers['x-regiongate-region'] === 'other' && r.headers['x-regiongate-attempts'] === '2') escaped++;
    await r.body.dump();
  }
  t.equal(escaped, 2, 'both escaped to the other region after the first-byte limit');
  t.equal(gw.health.state(gw.registry.endpoints[0]), 'ejected', 'a hang is evidence: ejected');
});

t.test('an unrecognised failure is a 502 RG_ERR_UNCLASSIFIED, not retried, not blamed, and logged', async (t) => {
  const got = { odd: 0, other: 0 };
  // Response headers larger than undici accepts: a failure the classifier does not know.
  const odd = await startUpstream(t, (req, res) => {
    got.odd++;
    req.resume();
    res.writeHead(200, { 'x-huge': 'y'.repeat(20_000) });
    res.end('{}');
  });
  const other = await startUpstream(t, (req, res) => {
    got.other++;
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  const lines: { event: string; fields?: Record<string, unknown> }[] = [];
  const logger = {
    debug() {},
    info() {},
    warn(event: string, fields?: Record<string, unknown>) {
      lines.push({ event, fields });
    },
    error() {},
  };
  const gw = await startGateway(
    t,
    [{ name: 'odd', url: odd.url }, { name: 'other', url: other.url, priority: 1 }],
    { health: { probes: false, breaker: { volumeThreshold: 1 } } },
    { logger },
  );
  for (let i = 0; i < 4; i++) {
    const r = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat, headers: { 'content-type': 'application/json' } });
    t.equal(r.statusCode, 502);
    t.equal(r.headers['x-regiongate-error'], 'RG_ERR_UNCLASSIFIED');
    t.equal(r.headers['x-regiongate-attempts'], '1', 'not retried');
    await r.body.dump();
  }
  t.equal(got.other, 0);
  t.equal(gw.health.state(gw.registry.endpoints[0]), 'healthy', 'not blamed on the endpoint');
  t.ok(lines.some((l) => l.event === 'proxy.unclassified_failure' && l.fields?.endpoint === 'odd-0'), 'a log line names it');
});


t.test('a client that reads slowly is not the endpoint going idle', async (t) => {
  const total = 24 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const fast = await startUpstream(t, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const gw = await startGateway(t, [{ name: 'fast', url: fast.url }], { health: { probes: false }, timeouts: { idle: '500ms' } });
  const { hostname, port } = new URL(gw.url);
  const endpoint = gw.registry.endpoints[0];
  for (let round = 0; round < 2; round++) {
    const socket = connect({ port: Number(port), host: hostname });
    await once(socket, 'connect');
    socket.pause(); // read nothing: the gateway's buffers fill and it pauses the upstream
    socket.write('GET /v1/big HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    while (gw.health.inflight(endpoint) < 1) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 1500)); // three idle timeouts' worth of holding back
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.resume();
    await once(socket, 'close');
    t.ok(received > total, `round ${round}: the whole answer arrived (${received} bytes)`);
  }
  t.equal(gw.health.state(endpoint), 'healthy');
  t.equal(gw.health.snapshot()[0].consecutiveLocalOrigin, 0, 'no idle timeout was charged to the endpoint');
});
