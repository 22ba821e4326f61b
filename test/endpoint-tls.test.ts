// TLS toward endpoints on real sockets: a private CA, a server certificate and a client certificate made
// with openssl in a temp dir, an https upstream (node:https) that requires a client certificate. Without
// the CA or the client certificate, or with the wrong servername, requests fail 502 RG_ERR_UPSTREAM_TLS and
// the endpoint is taken as unreachable (a free retry elsewhere); with them, requests, probes and WebSocket
// tunnels get through. Missing or broken files are config errors naming the key.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { rootCertificates, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { resolveConfig, type GatewayConfigInput } from '../src/config/index.js';
import { createGateway, type RunningGateway } from '../src/create-gateway.js';
import { ConfigError } from '../src/errors.js';
import { checkEndpointTlsFiles, loadEndpointTls, tlsConnectOptions } from '../src/registry/endpoint-tls.js';
import { TlsFailureLog } from '../src/proxy/tls-connect.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { Output, spawnCli } from './helpers/built.js';
import { hasOpenssl, makePki } from './helpers/pki.js';
import { startUpstream } from './helpers/gateway.js';
import { until, within } from './helpers/wait.js';

if (!hasOpenssl()) {
  t.plan(0, 'openssl is not installed: the TLS tests need it to make a private CA and certificates');
  process.exit(0);
}

const pki = makePki();
t.teardown(() => rmSync(pki.dir, { recursive: true, force: true }));

interface Upstream {
  readonly url: string;
  /** Paths of the requests that reached the handler, with the client certificate's CN. */
  readonly seen: { path: string; clientCn: string }[];
  /** Resolves on the next request to `path`. */
  next(path: string): Promise<void>;
}

/** An https upstream that requires a client certificate signed by the test CA, closed in teardown. */
async function startMtlsUpstream(tt: { teardown(fn: () => unknown): void }): Promise<Upstream> {
  const seen: { path: string; clientCn: string }[] = [];
  const waiters: { path: string; resolve: () => void }[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '';
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    seen.push({ path, clientCn: String(peer.subject?.CN ?? '') });
    for (const w of waiters.splice(0)) if (w.path === path) w.resolve();
    else waiters.push(w);
    const body = path.endsWith('/health') ? '{"ok":true}' : path === '/v1/models' ? '{"object":"list","data":[{"id":"m-onprem","object":"model"}]}' : JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hello over mTLS' } }] });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server: HttpsServer = createHttpsServer(
    { key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert), ca: readFileSync(pki.ca), requestCert: true, rejectUnauthorized: true },
    handler,
  );
  // WebSocket-style upgrades: answer 101 and echo, so a tunnel over mTLS can be shown end to end.
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    seen.push({ path: req.url ?? '', clientCn: String((socket as TLSSocket).getPeerCertificate().subject?.CN ?? '') });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tt.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    seen,
    next: (path) => new Promise<void>((resolve) => waiters.push({ path, resolve })),
  };
}

interface Started {
  readonly gw: RunningGateway;
  /** Log lines of event `upstream.tls_failure`. */
  readonly tlsLines: Record<string, unknown>[];
}

/** A gateway over `regions` (admin off, model discovery off), logging at warn into memory. */
async function startTlsGateway(
  tt: { teardown(fn: () => unknown): void },
  regions: NonNullable<GatewayConfigInput['regions']>,
  overrides: Partial<GatewayConfigInput> = {},
): Promise<Started> {
  const config = resolveConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      log: { level: 'warn' },
      ...overrides,
      routing: { modelDiscovery: { interval: 0 }, ...overrides.routing },
      regions,
    },
    {},
  );
  const tlsLines: Record<string, unknown>[] = [];
  const logger = createLogger('warn', (line) => {
    const rec = JSON.parse(line) as Record<string, unknown>;
    if (rec.event === 'upstream.tls_failure') tlsLines.push(rec);
  });
  const gw = createGateway(config, { logger });
  await gw.listen();
  tt.teardown(() => gw.close(0, 0));
  return { gw, tlsLines };
}

const chat = (url: string) =>
  request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });

async function errorCode(res: Awaited<ReturnType<typeof chat>>): Promise<string> {
  return ((await res.body.json()) as { error: { code: string } }).error.code;
}

const noProbes = { health: { probes: false } };
const onprem = (url: string, tls?: Record<string, unknown>) => ({ name: 'onprem', endpoints: [{ id: 'onprem-1', url, ...(tls && { tls }) }] });

t.test('a private-CA endpoint without tls.ca: 502 RG_ERR_UPSTREAM_TLS, logged once, nothing reaches it', async (t) => {
  const up = await startMtlsUpstream(t);
  const { gw, tlsLines } = await startTlsGateway(t, [onprem(up.url)], { ...noProbes, retry: { attempts: 1 } });
  for (let i = 0; i < 3; i++) {
    const res = await chat(gw.url);
    t.equal(res.statusCode, 502);
    t.equal(res.headers['x-regiongate-endpoint'], 'onprem-1');
    t.equal(await errorCode(res), 'RG_ERR_UPSTREAM_TLS');
  }
  t.equal(up.seen.length, 0, 'nothing reached the upstream');
  t.equal(tlsLines.length, 1, 'one log line for three failures with the same reason');
  // The server sends the CA along with its certificate: Node names that chain's untrusted root.
  t.match(tlsLines[0], { level: 'warn', endpoint: 'onprem-1', region: 'onprem', code: /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/ });
});

t.test('a TLS failure is evidence the endpoint is unreachable: ejected, and the request retried elsewhere for free', async (t) => {
  const up = await startMtlsUpstream(t);
  const backup = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"object":"chat.completion"}');
  });
  const { gw } = await startTlsGateway(
    t,
    [
      { ...onprem(up.url), priority: 0 },
      { name: 'backup', priority: 1, endpoints: [{ id: 'backup-1', url: backup.url }] },
    ],
    // A single refused connection ejects; POST to a path not replayable here: only a free retry can reach backup.
    { ...noProbes, retry: { attempts: 2, replayablePaths: [] }, health: { probes: false, outlier: { consecutiveConnectRefused: 1, maxEjectionPercent: 100 } } },
  );
  const res = await chat(gw.url);
  t.equal(res.statusCode, 200, 'answered by the other region');
  t.equal(res.headers['x-regiongate-endpoint'], 'backup-1');
  t.equal(res.headers['x-regiongate-attempts'], '2');
  await res.body.dump();
  const snap = gw.health.snapshot().find((s) => s.id === 'onprem-1');
  t.equal(snap?.state, 'ejected', 'the TLS endpoint is out of rotation');
});

t.test('with tls.ca + cert + key, requests and probes reach an endpoint that requires a client certificate', async (t) => {
  const up = await startMtlsUpstream(t);
  const probed = up.next('/health');
  const { gw, tlsLines } = await startTlsGateway(t, [onprem(up.url, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey })], {
    health: { interval: '100ms', healthyThreshold: 1 },
  });
  await within('a health probe over mTLS', probed);
  const res = await chat(gw.url);
  t.equal(res.statusCode, 200);
  t.match(await res.body.json(), { choices: [{ message: { content: 'hello over mTLS' } }] });
  t.ok(up.seen.some((s) => s.path === '/health' && s.clientCn === 'regiongate-gateway'), 'probe presented the client certificate');
  t.ok(up.seen.some((s) => s.path === '/v1/chat/completions' && s.clientCn === 'regiongate-gateway'), 'request presented the client certificate');
  await until('the probe verdict is healthy', () => gw.health.snapshot()[0]?.probe === 'up');
  t.equal(tlsLines.length, 0, 'no TLS failure logged');
});

t.test('model discovery reads a "*" mTLS endpoint\'s own model list with its TLS settings', async (t) => {
  const up = await startMtlsUpstream(t);
  const listed = up.next('/v1/models');
  const { gw, tlsLines } = await startTlsGateway(t, [onprem(up.url, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey })], {
    ...noProbes,
    routing: { modelDiscovery: { interval: '1s' } },
  });
  await within('the model list fetch over mTLS', listed);
  t.ok(up.seen.some((s) => s.path === '/v1/models' && s.clientCn === 'regiongate-gateway'), 'the fetch presented the client certificate');
  await until('the gateway lists m-onprem', async () => {
    const res = await request(`${gw.url}/v1/models`);
    const body = (await res.body.json()) as { data?: { id: string }[] };
    return res.statusCode === 200 && (body.data ?? []).some((m) => m.id === 'm-onprem');
  });
  t.equal(tlsLines.length, 0);
});

t.test('a ca that did not sign the endpoint\'s certificate is not trusted', async (t) => {
  const up = await startMtlsUpstream(t);
  const { gw } = await startTlsGateway(t, [onprem(up.url, { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey })], { ...noProbes, retry: { attempts: 1 } });
  const res = await chat(gw.url);
  t.equal(res.statusCode, 502);
  t.equal(await errorCode(res), 'RG_ERR_UPSTREAM_TLS');
  t.equal(up.seen.length, 0);
});

t.test('servername is what the certificate is checked against: a wrong one fails, the right one works on an IP URL', async (t) => {
  const up = await startMtlsUpstream(t);
  const tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
  const wrong = await startTlsGateway(t, [onprem(up.url, { ...tls, servername: 'wrong.example' })], { ...noProbes, retry: { attempts: 1 } });
  const bad = await chat(wrong.gw.url);
  t.equal(bad.statusCode, 502);
  t.equal(await errorCode(bad), 'RG_ERR_UPSTREAM_TLS');
  t.match(wrong.tlsLines[0], { endpoint: 'onprem-1', code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: /wrong\.example/ });
  t.equal(up.seen.length, 0);

  const right = await startTlsGateway(t, [onprem(up.url, { ...tls, servername: 'localhost' })], { ...noProbes, retry: { attempts: 1 } });
  const good = await chat(right.gw.url);
  t.equal(good.statusCode, 200);
  await good.body.dump();
});

t.test('a server requiring a client certificate rejects a gateway without one: 502 RG_ERR_UPSTREAM_TLS', async (t) => {
  const up = await startMtlsUpstream(t);
  const { gw, tlsLines } = await startTlsGateway(t, [onprem(up.url, { ca: pki.ca })], { ...noProbes, retry: { attempts: 1 } });
  const res = await chat(gw.url);
  t.equal(res.statusCode, 502);
  t.equal(await errorCode(res), 'RG_ERR_UPSTREAM_TLS');
  t.equal(up.seen.length, 0, 'the handler never ran');
  await until('the refusal is logged', () => tlsLines.length > 0);
  t.match(tlsLines[0], { endpoint: 'onprem-1', code: /^ERR_SSL_/ });
});

t.test('rejectUnauthorized: false accepts an unverified server (the operator chose to)', async (t) => {
  const up = await startMtlsUpstream(t);
  const { gw } = await startTlsGateway(t, [onprem(up.url, { cert: pki.clientCert, key: pki.clientKey, rejectUnauthorized: false })], { ...noProbes, retry: { attempts: 1 } });
  const res = await chat(gw.url);
  t.equal(res.statusCode, 200);
  await res.body.dump();
});

t.test('a WebSocket tunnel to an mTLS endpoint carries the client certificate', async (t) => {
  const up = await startMtlsUpstream(t);
  const { gw } = await startTlsGateway(t, [onprem(up.url, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, servername: 'localhost' })], noProbes);
  const { port } = new URL(gw.url);
  const sock = connect(Number(port), '127.0.0.1');
  t.teardown(() => sock.destroy());
  let got = '';
  const echoed = new Promise<void>((resolve) =>
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('ping-over-mtls')) resolve();
    }),
  );
  sock.write('GET /v1/realtime?model=m HTTP/1.1\r\nhost: gw\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
  await within('the 101 answer', until('101', () => got.includes('101')));
  sock.write('ping-over-mtls');
  await within('the echo through the tunnel', echoed);
  t.match(got, /^HTTP\/1\.1 101/);
  t.ok(up.seen.some((s) => s.path.startsWith('/v1/realtime') && s.clientCn === 'regiongate-gateway'), 'the tunnel presented the client certificate');
});

t.test('a WebSocket tunnel to an endpoint whose certificate does not match: 502 RG_ERR_UPSTREAM_TLS, logged', async (t) => {
  const up = await startMtlsUpstream(t);
  const { gw, tlsLines } = await startTlsGateway(t, [onprem(up.url, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, servername: 'wrong.example' })], noProbes);
  const { port } = new URL(gw.url);
  const sock = connect(Number(port), '127.0.0.1');
  t.teardown(() => sock.destroy());
  let got = '';
  sock.on('data', (d) => (got += d.toString('latin1')));
  const ended = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  sock.write('GET /v1/realtime?model=m HTTP/1.1\r\nhost: gw\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
  await within('the refusal', ended);
  t.match(got, /^HTTP\/1\.1 502 /);
  t.match(got, /RG_ERR_UPSTREAM_TLS/);
  t.equal(up.seen.length, 0, 'nothing reached the upstream');
  t.match(tlsLines[0], { endpoint: 'onprem-1', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});

t.test('missing, unreadable or invalid TLS files are config errors naming the key', async (t) => {
  const bad = join(pki.dir, 'not-a-cert.pem');
  writeFileSync(bad, 'hello');
  const cfg = resolveConfig({
    regions: [
      { name: 'a', endpoints: [{ url: 'https://a.example', tls: { ca: join(pki.dir, 'nope.pem') } }] },
      { name: 'b', endpoints: [{ url: 'https://b.example', tls: { ca: bad, cert: pki.serverCert, key: pki.clientKey } }] },
    ],
  }, {});
  let issues: readonly string[] = [];
  try {
    checkEndpointTlsFiles(cfg, 'gw.yaml');
    t.fail('expected a ConfigError');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    issues = (err as ConfigError).issues;
    t.match((err as Error).message, /gw\.yaml/);
  }
  t.match(issues, [/^regions\[0\]\.endpoints\[0\]\.tls\.ca: cannot read .*nope\.pem/, /^regions\[1\]\.endpoints\[0\]\.tls\.ca: .*holds no PEM certificate/, /^regions\[1\]\.endpoints\[0\]\.tls\.key: .*is not the private key of the certificate/]);
  t.throws(() => createGateway(cfg), { name: 'ConfigError', message: /regions\[0\]\.endpoints\[0\]\.tls\.ca/ }, 'createGateway refuses it too');

  const shape = (tls: unknown, url = 'https://a.example'): readonly string[] => {
    try {
      resolveConfig({ regions: [{ name: 'a', endpoints: [{ url, tls }] }] }, {});
      return [];
    } catch (err) {
      return (err as ConfigError).issues;
    }
  };
  t.match(shape({ cert: pki.clientCert }), [/^regions\[0\]\.endpoints\[0\]\.tls: cert and key go together/]);
  t.match(shape({ ca: pki.ca }, 'http://a.example'), [/^regions\[0\]\.endpoints\[0\]\.tls: applies to https URLs only/]);
  t.match(shape({ ca: pki.ca, verify: true }), [/tls\.verify: unknown key/]);
  t.same(shape({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, servername: 'localhost' }), [], 'a good one passes');

  // The ca is added to Node's bundled roots, not put in their place: public endpoints stay verifiable.
  const loaded = loadEndpointTls({ ca: pki.ca, rejectUnauthorized: true }, 'tls');
  t.equal(loaded.ca?.length, rootCertificates.length + 1);
  t.ok(loaded.ca?.includes(rootCertificates[0]), 'the bundled roots are kept');
  t.equal(loaded.ca?.at(-1)?.trim(), readFileSync(pki.ca, 'utf8').trim(), 'the private CA is added');
  // Built once per endpoint: a context per connection would parse ~140 roots each time (bench/tls-context.mjs).
  const a = tlsConnectOptions(loaded);
  t.ok(a.secureContext !== undefined && a.secureContext === tlsConnectOptions(loaded).secureContext, 'one shared SecureContext');
  t.equal(a.ca, undefined, 'no CA list handed to each connect');
});

/** The child's exit code once it has exited and its pipes are drained. */
const closed = (child: ReturnType<typeof spawnCli>): Promise<number | null> =>
  new Promise((resolve) => child.once('close', (code) => resolve(code)));

t.test('check-config and start (dist/cli.js) exit 2 naming the key of a missing TLS file; a good one passes', async (t) => {
  const file = join(pki.dir, 'gw.yaml');
  const yaml = (ca: string): string =>
    ['listen: { host: 127.0.0.1, port: 0 }', 'admin: { enabled: false }', 'regions:', '  - name: onprem', '    endpoints:', '      - url: https://127.0.0.1:1', `        tls: { ca: "${ca}", cert: "${pki.clientCert}", key: "${pki.clientKey}" }`, ''].join('\n');
  writeFileSync(file, yaml(join(pki.dir, 'missing-ca.pem')));
  for (const args of [['check-config', file], ['start', '--config', file]]) {
    const child = spawnCli(t, args);
    const stderr = new Output(child, 'stderr');
    t.equal(await within(`regiongate ${args[0]} to exit`, closed(child)), 2, `${args[0]} exits 2`);
    t.match(stderr.text, /regions\[0\]\.endpoints\[0\]\.tls\.ca: cannot read .*missing-ca\.pem/, `${args[0]} names the key`);
  }
  writeFileSync(file, yaml(pki.ca));
  const ok = spawnCli(t, ['check-config', file]);
  const out = new Output(ok, 'stdout');
  t.equal(await within('check-config to exit', closed(ok)), 0);
  t.match(out.text, pki.ca, 'the resolved config shows the file path');
  t.notMatch(out.text, 'BEGIN', 'never the file contents');
});

t.test('TLS failures are logged once per endpoint and reason, again on a new reason or after a quiet period', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const clock = new FakeClock();
  const log = new TlsFailureLog(createLogger('warn', (l) => lines.push(JSON.parse(l) as Record<string, unknown>)), clock, 60_000);
  const e = { id: 'e1', region: 'r' } as Parameters<TlsFailureLog['note']>[0];
  const err = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  log.note(e, err('CERT_HAS_EXPIRED', 'certificate has expired'));
  log.note(e, err('CERT_HAS_EXPIRED', 'certificate has expired'));
  t.equal(lines.length, 1);
  log.note(e, err('ERR_TLS_CERT_ALTNAME_INVALID', 'altname'));
  t.equal(lines.length, 2, 'a new reason is logged');
  log.note({ ...e, id: 'e2' }, err('ERR_TLS_CERT_ALTNAME_INVALID', 'altname'));
  t.equal(lines.length, 3, 'another endpoint is logged');
  clock.tick(59_000);
  log.note(e, err('ERR_TLS_CERT_ALTNAME_INVALID', 'altname'));
  t.equal(lines.length, 3);
  clock.tick(2_000);
  log.note(e, err('ERR_TLS_CERT_ALTNAME_INVALID', 'altname'));
  t.equal(lines.length, 4, 'the same reason again after the quiet period');
  t.match(lines[3], { event: 'upstream.tls_failure', endpoint: 'e1', region: 'r', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});
