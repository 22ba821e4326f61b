// TLS toward clients (`listen.tls`) on real sockets, with a private CA made by openssl in the test: a
// client that trusts the CA gets a proxied completion, a streamed SSE answer, the health paths and a
// WebSocket tunnel over TLS, and the endpoint hears `x-forwarded-proto: https`; a client without the CA
// fails the handshake. Swapping the certificate files and calling `reloadListenTls()` makes new handshakes
// present the new certificate while a stream in flight on an old connection finishes; a bad file on reload
// changes nothing. With `ca`, clients must present a certificate (mutual TLS). Bad files at start, with
// and without `--workers`, are config errors naming the key; `--workers 2` serves TLS. With `http2`, h2
// and HTTP/1.1 share the port: completions, streams, client cancels, upgrades and the drain (GOAWAY).
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { connect as http2Connect, constants as h2constants, type ClientHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import t from 'tap';
import { Agent, request } from 'undici';
import { resolveConfig } from '../src/config/index.js';
import { createGateway } from '../src/create-gateway.js';
import { ConfigError } from '../src/errors.js';
import { exitOf, Output, spawnCli, writeConfig } from './helpers/built.js';
import { startGateway, startSim, startUpstream, type Teardown } from './helpers/gateway.js';
import { hasOpenssl, makePki, SERVER_EXT } from './helpers/pki.js';
import { portOf } from './helpers/raw-http.js';
import { until, within } from './helpers/wait.js';

if (!hasOpenssl()) {
  t.plan(0, 'openssl is not installed: the TLS tests need it to make a private CA and certificates');
  process.exit(0);
}

const pki = makePki(t);
const CHAT = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

/** An undici agent that trusts the test CA (and presents `cert`/`key` when given); closed in teardown. */
function trusting(tt: Teardown, extra: { cert?: string; key?: string } = {}): Agent {
  const agent = new Agent({ connect: { ca: readFileSync(pki.ca), ...(extra.cert && { cert: readFileSync(extra.cert), key: readFileSync(extra.key ?? '') }) } });
  tt.teardown(() => agent.close());
  return agent;
}

/** The certificate a new TLS handshake with `port` gets (its SHA-256 fingerprint), trusting the test CA. */
function handshakeFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.ca) }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

/** The SHA-256 fingerprint of a PEM certificate file. */
function fingerprintOf(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256;
}

/** The listener's own files, copied so a test can swap them without touching the shared PKI. */
function ownFiles(name: string): { cert: string; key: string } {
  const cert = join(pki.dir, `${name}-listen.pem`);
  const key = join(pki.dir, `${name}-listen.key`);
  copyFileSync(pki.serverCert, cert);
  copyFileSync(pki.serverKey, key);
  return { cert, key };
}

t.test('over TLS: a completion, an SSE stream, the health paths and x-forwarded-proto; no CA, no handshake', async (t) => {
  const sim = await startSim(t, { name: 'sim' });
  const protos: string[] = [];
  const echo = await startUpstream(t, (req, res) => {
    protos.push(String(req.headers['x-forwarded-proto']));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"object":"chat.completion","choices":[]}');
  });
  const files = ownFiles('basic');
  const gw = await startGateway(
    t,
    [
      { name: 'sim', url: sim.url, models: ['m'] },
      { name: 'echo', url: echo.url, models: ['echo'] },
    ],
    { listen: { host: '127.0.0.1', port: 0, tls: files }, health: { probes: false } },
  );
  t.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/, 'the listener says https');
  const agent = trusting(t);
  const post = (body: unknown) =>
    request(`${gw.url}/v1/chat/completions`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const unary = await post(CHAT);
  t.equal(unary.statusCode, 200);
  t.match(await unary.body.json(), { object: 'chat.completion' }, 'a proxied completion over TLS');

  const stream = await post({ ...CHAT, stream: true });
  t.equal(stream.statusCode, 200);
  t.match(stream.headers['content-type'], /^text\/event-stream/);
  const text = await stream.body.text();
  t.ok(text.trimEnd().endsWith('data: [DONE]'), 'the SSE stream arrives whole over TLS');
  t.ok((text.match(/^data: /gm) ?? []).length > 2, 'in several events');

  for (const path of ['/healthz', '/readyz']) {
    const res = await request(`${gw.url}${path}`, { dispatcher: agent });
    t.equal(res.statusCode, 200, `${path} answers over TLS`);
    await res.body.dump();
  }

  const forwarded = await post({ ...CHAT, model: 'echo' });
  await forwarded.body.dump();
  t.same(protos, ['https'], 'the endpoint learns the client spoke https');

  const untrusting = new Agent();
  t.teardown(() => untrusting.close());
  const refused = await request(`${gw.url}/healthz`, { dispatcher: untrusting }).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => err.code,
  );
  t.match(refused, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/, `a client without the CA fails the handshake (${refused})`);
  const plain = await request(gw.url.replace('https:', 'http:') + '/healthz').then(
    (r) => r.statusCode,
    (err: NodeJS.ErrnoException) => err.code ?? 'error',
  );
  t.not(plain, 200, 'plain HTTP on the TLS port gets no answer');
  const again = await request(`${gw.url}/healthz`, { dispatcher: agent });
  t.equal(again.statusCode, 200, 'failed handshakes leave the listener serving');
  await again.body.dump();
});

t.test('a WebSocket upgrade is tunnelled over TLS', async (t) => {
  const sim = await startSim(t, { name: 'sim' });
  const files = ownFiles('ws');
  const gw = await startGateway(t, [{ name: 'sim', url: sim.url }], { listen: { host: '127.0.0.1', port: 0, tls: files }, health: { probes: false } });
  const socket = tlsConnect({ host: '127.0.0.1', port: portOf(gw.url), servername: 'localhost', ca: readFileSync(pki.ca) });
  t.teardown(() => socket.destroy());
  socket.setEncoding('utf8');
  let got = '';
  const seen = (s: string): Promise<void> =>
    within(`"${s}" through the tunnel`, new Promise<void>((resolve) => {
      const check = (): void => {
        if (got.includes(s)) {
          socket.off('data', onData);
          resolve();
        }
      };
      const onData = (d: string): void => {
        got += d;
        check();
      };
      socket.on('data', onData);
      check();
    }));
  socket.write('GET /v1/realtime HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  await seen('\r\n\r\n');
  t.match(got, /^HTTP\/1\.1 101 /, 'the upgrade is switched');
  socket.write('ping over tls');
  await seen('ping over tls');
  t.pass('bytes echo through the TLS tunnel');
});

t.test('reload: new handshakes get the new certificate, a stream in flight on an old connection finishes', async (t) => {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started: () => void = () => undefined;
  const streaming = new Promise<void>((resolve) => (started = resolve));
  const upstream = await startUpstream(t, (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"n":1}\n\n');
    started();
    void released.then(() => res.end('data: {"n":2}\n\ndata: [DONE]\n\n'));
  });
  const files = ownFiles('reload');
  const gw = await startGateway(t, [{ name: 'a', url: upstream.url }], { listen: { host: '127.0.0.1', port: 0, tls: files }, health: { probes: false } });
  const port = portOf(gw.url);
  const oldFp = fingerprintOf(pki.serverCert);
  t.equal(await handshakeFingerprint(port), oldFp, 'before the reload: the first certificate');

  // A stream in flight on a connection that shook hands with the first certificate.
  const res = await within('the stream\'s head', new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpsRequest(`${gw.url}/v1/chat/completions`, { method: 'POST', ca: readFileSync(pki.ca), servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(JSON.stringify({ ...CHAT, stream: true }));
  }));
  t.teardown(() => res.destroy());
  await within('the first event', streaming);
  t.equal((res.socket as TLSSocket).getPeerCertificate().fingerprint256, oldFp, 'the stream runs on the first certificate');
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d: string) => (body += d));
  const ended = new Promise<void>((resolve) => res.on('end', resolve));

  // Renew: a new certificate and key written over the same paths, then the reload.
  const renewed = pki.issue('renewed', 'localhost', SERVER_EXT);
  copyFileSync(renewed.cert, files.cert);
  copyFileSync(renewed.key, files.key);
  t.equal(await handshakeFingerprint(port), oldFp, 'files swapped but not reloaded: still the first certificate');
  const cert = gw.reloadListenTls();
  const newFp = fingerprintOf(renewed.cert);
  t.equal(cert?.fingerprint256, newFp, 'the reload reports the certificate now in force');
  t.not(newFp, oldFp);
  t.equal(await handshakeFingerprint(port), newFp, 'a new handshake gets the renewed certificate');

  release();
  await within('the old stream\'s end', ended);
  t.ok(body.endsWith('data: [DONE]\n\n'), 'the stream in flight on the old connection finished whole');

  // A broken file on reload changes nothing.
  writeFileSync(files.key, 'not a key');
  const refused = (() => {
    try {
      gw.reloadListenTls();
      return undefined;
    } catch (err) {
      return err;
    }
  })();
  t.type(refused, ConfigError, 'a broken key file: the reload is refused');
  t.match((refused as Error).message, /listen\.tls\.key: .* holds no usable PEM private key/, 'naming the key and the reason');
  t.equal(await handshakeFingerprint(port), newFp, 'after a refused reload: the certificate in force stays');
  t.equal(gw.gateway.tlsCertificate?.fingerprint256, newFp);
});

t.test('listen.tls.ca: clients must present a certificate signed by it (mutual TLS)', async (t) => {
  const sim = await startSim(t, { name: 'sim' });
  const files = ownFiles('mtls');
  const gw = await startGateway(t, [{ name: 'sim', url: sim.url }], { listen: { host: '127.0.0.1', port: 0, tls: { ...files, ca: pki.ca } }, health: { probes: false } });
  const withCert = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: trusting(t, { cert: pki.clientCert, key: pki.clientKey }),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(CHAT),
  });
  t.equal(withCert.statusCode, 200, 'a client certificate from the CA gets through');
  await withCert.body.dump();
  const without = await request(`${gw.url}/healthz`, { dispatcher: trusting(t) }).then(
    (r) => `status ${r.statusCode}`,
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  t.notMatch(without, /^status/, `no client certificate: no answer (${without})`);
  t.throws(() => gw.reloadListenTls({ ...files, minVersion: 'TLSv1.2' }), ConfigError, 'dropping client certificate checks needs a restart');
});

t.test('bad listen.tls files are config errors naming the key', async (t) => {
  const config = (tls: { cert: string; key: string }) =>
    resolveConfig({ listen: { host: '127.0.0.1', port: 0, tls }, admin: { enabled: false }, log: { level: 'silent' }, regions: [{ name: 'a', endpoints: [{ url: 'http://127.0.0.1:1' }] }] }, {});
  t.throws(() => createGateway(config({ cert: join(pki.dir, 'missing.pem'), key: pki.serverKey })), /listen\.tls\.cert: cannot read .*missing\.pem/);
  t.throws(() => createGateway(config({ cert: pki.serverCert, key: pki.clientKey })), /listen\.tls\.key: .* is not the private key of the certificate/);
  t.throws(() => resolveConfig({ listen: { tls: { cert: pki.serverCert } } } as never, {}), /listen\.tls\.key/);
  t.throws(() => resolveConfig({ listen: { http2: true }, regions: [{ name: 'a', endpoints: [{ url: 'http://127.0.0.1:1' }] }] }, {}), /listen\.http2: needs listen\.tls/);
});

t.test('the CLI: a missing certificate exits 2 naming listen.tls.cert, with and without --workers', async (t) => {
  const file = writeConfig(t, [
    'listen: { host: 127.0.0.1, port: 0, tls: { cert: "/nonexistent/listen.pem", key: "/nonexistent/listen.key" } }',
    'admin: { enabled: false }',
    'regions:',
    '  - { name: a, endpoints: [{ url: "http://127.0.0.1:1" }] }',
  ]);
  for (const extra of [[], ['--workers', '2']]) {
    const child = spawnCli(t, ['start', '--config', file, ...extra]);
    const err = new Output(child, 'stderr');
    const exit = await within('the failed start', exitOf(child));
    t.equal(exit.code, 2, `exit 2 ${extra.join(' ')}`);
    t.ok(await err.match('the key and the reason', /listen\.tls\.cert: cannot read \/nonexistent\/listen\.pem/), 'names listen.tls.cert and why');
    t.ok(await err.match('every problem at once', /listen\.tls\.key: cannot read/), 'and listen.tls.key in the same run');
  }
});

t.test('--workers 2 serves TLS on one port', async (t) => {
  const sim = await startSim(t, { name: 'sim' });
  const files = ownFiles('workers');
  const file = writeConfig(t, [
    `listen: { host: 127.0.0.1, port: 0, tls: { cert: "${files.cert}", key: "${files.key}" } }`,
    'admin: { enabled: false }',
    'log: { level: warn }',
    'health: { probes: false }',
    'regions:',
    `  - { name: sim, endpoints: [{ url: "${sim.url}" }] }`,
  ]);
  const child = spawnCli(t, ['start', '--config', file, '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err = new Output(child, 'stderr');
  await err.match('two workers listening', /listening on [^\n]*\n/g, 2);
  const urls = [...err.text.matchAll(/listening on (https:\/\/[^,\s"]+)/g)].map((m) => m[1]);
  t.equal(urls.length, 2, 'both workers say https');
  t.equal(new Set(urls).size, 1, 'on the same port');
  const agent = trusting(t);
  for (let i = 0; i < 6; i++) {
    const res = await request(`${urls[0]}/v1/chat/completions`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(CHAT), reset: true });
    t.equal(res.statusCode, 200, `request ${i} over TLS`);
    await res.body.dump();
  }
  const exited = exitOf(child);
  child.kill('SIGTERM');
  t.equal((await within('the drain', exited)).code, 0, 'SIGTERM drains and exits 0');
});

interface H2Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request on an HTTP/2 session; resolves once the answer has ended. */
function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string): Promise<H2Answer> {
  return within(`the h2 answer to ${String(headers[':path'])}`, new Promise<H2Answer>((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    let head: IncomingHttpHeaders = {};
    let text = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (head = h));
    stream.on('data', (d: string) => (text += d));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: text }));
    stream.on('error', reject);
  }));
}

/** An HTTP/2 session to the gateway trusting the test CA, closed in teardown. */
async function h2Session(tt: Teardown, url: string): Promise<ClientHttp2Session> {
  const session = http2Connect(url.replace('127.0.0.1', 'localhost'), { ca: readFileSync(pki.ca) });
  tt.teardown(() => session.destroy());
  await within('the h2 session', new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  }));
  return session;
}

t.test('listen.http2: h2 and HTTP/1.1 on one TLS port; completions, streams, client close, upgrades, drain', async (t) => {
  const sim = await startSim(t, { name: 'sim' });
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const arrived: string[] = [];
  const upstreamClosed: string[] = [];
  const held = await startUpstream(t, (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const model = JSON.parse(body).model as string;
      arrived.push(model);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ got: body.length, host: req.headers['x-forwarded-host'], proto: req.headers['x-forwarded-proto'] })}\n\n`);
      res.on('close', () => upstreamClosed.push(model));
      void released.then(() => res.end('data: [DONE]\n\n'));
    });
  });
  const files = ownFiles('h2');
  const gw = await startGateway(
    t,
    [
      { name: 'sim', url: sim.url, models: ['m'] },
      { name: 'held', url: held.url, models: ['held', 'gone'] },
    ],
    // A long idle limit: only the client's cancel, not a timer, may end the cancelled stream's upstream request.
    { listen: { host: '127.0.0.1', port: 0, tls: files, http2: true }, health: { probes: false }, timeouts: { idle: '10m' } },
  );
  const session = await h2Session(t, gw.url);
  t.equal(session.alpnProtocol, 'h2', 'ALPN picks h2');
  const post = (body: unknown) => h2Request(session, { ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' }, JSON.stringify(body));

  const unary = await post(CHAT);
  t.equal(unary.status, 200, 'a completion over h2');
  t.match(JSON.parse(unary.body), { object: 'chat.completion' });
  t.equal(unary.headers['x-regiongate-attempts'], '1', 'with the gateway\'s headers');
  const streamed = await post({ ...CHAT, stream: true });
  t.equal(streamed.status, 200);
  t.ok(streamed.body.trimEnd().endsWith('data: [DONE]'), 'an SSE stream over h2 arrives whole');
  const health = await h2Request(session, { ':path': '/healthz' });
  t.equal(health.status, 200, '/healthz over h2');
  const models = await h2Request(session, { ':path': '/v1/models' });
  t.equal(models.status, 200, 'a GET without a body over h2');
  const connect = await h2Request(session, { ':method': 'CONNECT', ':authority': 'example.com:443' });
  t.equal(connect.status, 405, 'CONNECT over h2 is refused like over HTTP/1.1');
  t.equal(connect.headers.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');

  // A client that cancels its stream: the gateway aborts the upstream request, the session lives on.
  const gone = session.request({ ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' });
  gone.end(JSON.stringify({ ...CHAT, model: 'gone', stream: true }));
  await within('the first event of the stream to cancel', new Promise<void>((resolve) => gone.once('data', () => resolve())));
  gone.close(h2constants.NGHTTP2_CANCEL);
  await until('the upstream request aborted', () => upstreamClosed.includes('gone'));
  t.pass('a cancelled h2 stream aborts its upstream request');

  // HTTP/1.1 and WebSocket upgrades on the same port.
  const h1Agent = new Agent({ connect: { ca: readFileSync(pki.ca) } });
  const h1 = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', dispatcher: h1Agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(CHAT) });
  t.equal(h1.statusCode, 200, 'HTTP/1.1 still served');
  await h1.body.dump();
  // The drain below waits for every client connection: this client closes its idle one, as a balancer would.
  await h1Agent.close();
  const ws = tlsConnect({ host: '127.0.0.1', port: portOf(gw.url), servername: 'localhost', ca: readFileSync(pki.ca), ALPNProtocols: ['http/1.1'] });
  t.teardown(() => ws.destroy());
  ws.write('GET /v1/realtime?model=m HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  const switched = await within('the 101', new Promise<string>((resolve) => ws.once('data', (d: Buffer) => resolve(d.toString()))));
  t.match(switched, /^HTTP\/1\.1 101 /, 'a WebSocket upgrade over HTTP/1.1 on the h2 port');
  ws.destroy();

  // A stream in flight when the drain starts: it finishes, the session gets GOAWAY, the drain ends.
  const inflight = post({ ...CHAT, model: 'held', stream: true });
  await until('the held stream upstream', () => arrived.includes('held'));
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  const drained = gw.gateway.drain(60_000, 0);
  await within('the GOAWAY', goaway);
  release();
  const last = await inflight;
  t.ok(last.body.endsWith('data: [DONE]\n\n'), 'the stream in flight finished whole through the drain');
  t.match(last.body, /"proto":"https"/, 'the endpoint hears https');
  t.match(last.body, /"host":"localhost:\d+"/, ':authority becomes x-forwarded-host');
  await within('the drain', drained);
  t.pass('the drain ended once the h2 session closed');
});
