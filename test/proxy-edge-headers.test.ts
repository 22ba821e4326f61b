// Headers at the edge: the names the gateway owns in both directions, and the forwarding headers
// (X-Forwarded-*, Forwarded, X-Real-IP and other client-IP headers) under `listen.trustProxy`.
import t from 'tap';
import { resolveConfig } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';
import { forwardedChain, compileTrustProxy } from '../src/proxy/forwarded.js';
import { startGateway, startSim, startUpstream } from './helpers/gateway.js';
import { portOf, rawRequest } from './helpers/raw-http.js';

interface Echo {
  headers: Record<string, string>;
}

const SPOOFED =
  'X-Forwarded-For: 198.51.100.66\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: admin.internal\r\n' +
  'X-Forwarded-Port: 8443\r\nX-Forwarded-Prefix: /admin\r\nForwarded: for=198.51.100.66;proto=https\r\n' +
  'X-Real-IP: 198.51.100.66\r\nTrue-Client-IP: 198.51.100.66\r\nX-Original-URL: /admin\r\n' +
  'X-Envoy-Upstream-Rq-Timeout-Ms: 1\r\n';

async function echoHeaders(port: number, extra: string): Promise<{ status: number; sent: Record<string, string>; got: Record<string, string> }> {
  const a = await rawRequest(port, `GET /echo HTTP/1.1\r\nHost: api.example.com\r\n${extra}Connection: close\r\n\r\n`);
  return { status: a.status, sent: (JSON.parse(a.body) as Echo).headers, got: a.headers };
}

t.test('an upstream cannot spoof x-request-id or x-regiongate-* response headers', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.setHeader('x-request-id', 'upstream-id');
    res.setHeader('x-regiongate-region', 'eu-west-1');
    res.setHeader('x-regiongate-endpoint', 'spoofed');
    res.setHeader('x-regiongate-error', 'RG_ERR_NONE');
    res.setHeader('x-model-version', '7');
    res.end('ok');
  });
  const gw = await startGateway(t, [{ name: 'us-east-1', url: up.url }]);
  const a = await rawRequest(portOf(gw.url), 'GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: client-42\r\nConnection: close\r\n\r\n');
  t.equal(a.status, 200);
  t.equal(a.headers['x-request-id'], 'client-42', 'one request id: the gateway one');
  t.equal(a.headers['x-regiongate-region'], 'us-east-1', 'the region that answered, once');
  t.equal(a.headers['x-regiongate-endpoint'], 'us-east-1-0');
  t.notOk(a.headers['x-regiongate-error'], 'an upstream cannot write a gateway error code');
  t.equal(a.headers['x-model-version'], '7', 'other upstream headers pass');
});

t.test('client x-regiongate-* request headers are not forwarded', async (t) => {
  const sim = await startSim(t, { name: 'us-east-1' });
  const gw = await startGateway(t, [{ name: 'us-east-1', url: sim.url }]);
  const { sent } = await echoHeaders(portOf(gw.url), 'X-Regiongate-Regions: us-east-1\r\nX-Regiongate-Region: eu\r\nX-Regiongate-Anything: 1\r\n');
  t.same(Object.keys(sent).filter((k) => k.startsWith('x-regiongate-')), []);
});

t.test('spoofed forwarding headers are replaced when no proxy is trusted (the default)', async (t) => {
  const sim = await startSim(t, { name: 'us-east-1' });
  const gw = await startGateway(t, [{ name: 'us-east-1', url: sim.url }]);
  const { status, sent } = await echoHeaders(portOf(gw.url), SPOOFED);
  t.equal(status, 200);
  t.equal(sent['x-forwarded-for'], '127.0.0.1');
  t.equal(sent['x-real-ip'], '127.0.0.1');
  t.equal(sent['x-forwarded-proto'], 'http');
  t.equal(sent['x-forwarded-host'], 'api.example.com');
  t.equal(sent.forwarded, 'for=127.0.0.1;host=api.example.com;proto=http');
  for (const name of ['x-forwarded-port', 'x-forwarded-prefix', 'true-client-ip', 'x-original-url', 'x-envoy-upstream-rq-timeout-ms'])
    t.notOk(sent[name], `${name} dropped`);
});

t.test('a trusted proxy in front: its forwarding headers are kept and the gateway appends its hop', async (t) => {
  const sim = await startSim(t, { name: 'us-east-1' });
  const gw = await startGateway(t, [{ name: 'us-east-1', url: sim.url }], { listen: { host: '127.0.0.1', port: 0, trustProxy: 'loopback' } });
  const { sent } = await echoHeaders(portOf(gw.url), SPOOFED);
  t.equal(sent['x-forwarded-for'], '198.51.100.66, 127.0.0.1', 'the chain up to the first untrusted address');
  t.equal(sent['x-real-ip'], '198.51.100.66', 'the client as the trusted proxy names it');
  t.equal(sent['x-forwarded-proto'], 'https');
  t.equal(sent['x-forwarded-host'], 'admin.internal');
  t.equal(sent['x-forwarded-port'], '8443');
  t.equal(sent.forwarded, 'for=198.51.100.66;proto=https, for=127.0.0.1;host=api.example.com;proto=http');

  // Addresses left of the first untrusted one were written by whoever the client is: dropped.
  const chain = await echoHeaders(portOf(gw.url), 'X-Forwarded-For: 6.6.6.6, 203.0.113.9, 127.0.0.2\r\n');
  t.equal(chain.sent['x-forwarded-for'], '203.0.113.9, 127.0.0.2, 127.0.0.1');
  t.equal(chain.sent['x-real-ip'], '203.0.113.9');
});

t.test('trustProxy: hop counts, lists, CIDRs, and config errors', async (t) => {
  t.same(forwardedChain('10.0.0.5', '6.6.6.6, 203.0.113.9', compileTrustProxy(false)), ['10.0.0.5']);
  t.same(forwardedChain('10.0.0.5', '6.6.6.6, 203.0.113.9', compileTrustProxy(1)), ['203.0.113.9', '10.0.0.5']);
  t.same(forwardedChain('10.0.0.5', '6.6.6.6, 203.0.113.9', compileTrustProxy(true)), ['6.6.6.6', '203.0.113.9', '10.0.0.5']);
  t.same(forwardedChain('10.0.0.5', '6.6.6.6, 10.1.2.3', compileTrustProxy('10.0.0.0/8')), ['6.6.6.6', '10.1.2.3', '10.0.0.5']);
  t.same(forwardedChain('10.0.0.5', '6.6.6.6, 10.1.2.3', compileTrustProxy(['10.0.0.5', '192.168.0.0/16'])), ['10.1.2.3', '10.0.0.5']);
  t.same(forwardedChain('::ffff:10.0.0.5', '203.0.113.9', compileTrustProxy('10.0.0.0/8, fc00::/7')), ['203.0.113.9', '::ffff:10.0.0.5'], 'IPv4-mapped peers');
  const cfg = (trustProxy: unknown) =>
    resolveConfig({ listen: { trustProxy } as never, regions: [{ name: 'r', endpoints: [{ url: 'http://127.0.0.1:1' }] }] }, {});
  t.equal(cfg('true').listen.trustProxy, true, 'from ${ENV} strings');
  t.equal(cfg('2').listen.trustProxy, 2);
  t.equal(cfg('10.0.0.0/8,127.0.0.1').listen.trustProxy, '10.0.0.0/8,127.0.0.1');
  for (const bad of ['10.0.0.0/99', ['not-an-ip'], { a: 1 }, -1]) {
    try {
      cfg(bad);
      t.fail(`accepted ${JSON.stringify(bad)}`);
    } catch (err) {
      t.ok(err instanceof ConfigError && err.issues.some((i) => i.startsWith('listen.trustProxy:')), `${JSON.stringify(bad)}: ${String(err)}`);
    }
  }
});
