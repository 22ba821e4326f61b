// AWS SigV4 through AWS's own signer: AWS's published aws-sig-v4-test-suite vectors (credentials
// AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1/service), and a real request through the gateway whose
// Authorization header an independent verifier (node:crypto, the canonical request built by hand)
// recomputes over exactly the bytes the upstream received. No network to AWS.
import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import { resolveConfig } from '../src/config/index.js';
import { createGateway } from '../src/create-gateway.js';
import { AwsRequestSigner } from '../src/credentials/aws-signer.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { startUpstream } from './helpers/gateway.js';
import { until } from './helpers/wait.js';

const SUITE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_DATE = Date.UTC(2015, 7, 30, 12, 36, 0);
const SCOPE = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

t.test("AWS's SigV4 test suite: get-vanilla, get-vanilla-query-order-key-case, post-x-www-form-urlencoded", async (t) => {
  const signer = new AwsRequestSigner({ region: 'us-east-1', service: 'service', clock: new FakeClock(SUITE_DATE), credentials: () => SUITE });
  const origin = 'https://example.amazonaws.com';
  const get = new Map(await signer.sign({ method: 'GET', origin, path: '/', body: null }));
  t.equal(get.get('authorization'), `${SCOPE}, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31`);
  t.equal(get.get('x-amz-date'), '20150830T123600Z');
  const query = new Map(await signer.sign({ method: 'GET', origin, path: '/?Param2=value2&Param1=value1', body: null }));
  t.equal(query.get('authorization'), `${SCOPE}, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500`);
  // post-x-www-form-urlencoded signs content-type too; the gateway signs host and x-amz-date only, so
  // this vector is checked on the signer's own request shape (same package, same canonicalisation).
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const raw = new SignatureV4({ region: 'us-east-1', service: 'service', sha256: Sha256, credentials: SUITE, applyChecksum: false });
  const post = await raw.sign(
    { method: 'POST', protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', query: {}, headers: { host: 'example.amazonaws.com', 'content-type': 'application/x-www-form-urlencoded' }, body: 'Param1=value1' },
    { signingDate: new Date(SUITE_DATE) },
  );
  t.equal(post.headers.authorization, `${SCOPE}, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a`);
});

/** SigV4 recomputed by hand for a request with signed headers host;x-amz-date[;x-amz-security-token] and no query. */
function expectedSignature(o: { method: string; path: string; host: string; amzDate: string; token?: string; body: Buffer; secret: string; region: string; service: string }): string {
  const hash = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
  const hmac = (k: string | Buffer, s: string): Buffer => createHmac('sha256', k).update(s).digest();
  const canonicalPath = o.path.split('/').map((seg) => encodeURIComponent(seg)).join('/');
  const headers = `host:${o.host}\nx-amz-date:${o.amzDate}\n${o.token === undefined ? '' : `x-amz-security-token:${o.token}\n`}`;
  const signed = o.token === undefined ? 'host;x-amz-date' : 'host;x-amz-date;x-amz-security-token';
  const creq = [o.method, canonicalPath, '', headers, signed, hash(o.body)].join('\n');
  const day = o.amzDate.slice(0, 8);
  const scope = `${day}/${o.region}/${o.service}/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', o.amzDate, scope, hash(creq)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${o.secret}`, day), o.region), o.service), 'aws4_request');
  return createHmac('sha256', key).update(sts).digest('hex');
}

t.test('a request through the gateway to an aws endpoint carries a SigV4 signature over exactly the forwarded body, per attempt', async (t) => {
  const got: { headers: Record<string, string | string[] | undefined>; body: Buffer; path: string }[] = [];
  const { url } = await startUpstream(t, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!req.url?.endsWith('/health')) got.push({ headers: req.headers, body: Buffer.concat(chunks), path: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const clock = new FakeClock(SUITE_DATE);
  const creds = { accessKeyId: 'AKIDTESTGATEWAY', secretAccessKey: 'gatewaySecretKeyThatNeverLeaks/0123456789', sessionToken: 'sessTokenXYZ' };
  const config = resolveConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      log: { level: 'silent' },
      health: { probes: false },
      routing: { modelDiscovery: { interval: 0 } },
      regions: [{ name: 'bedrock', endpoints: [{ id: 'br', url: `${url}/openai`, credentials: { aws: { region: 'us-west-2', service: 'bedrock' } } }] }],
    },
    {},
  );
  const gw = createGateway(config, { clock, awsCredentials: async () => creds });
  await gw.listen();
  t.teardown(() => gw.close(0, 0));
  const body = JSON.stringify({ model: 'openai.gpt-oss-120b-1:0', messages: [{ role: 'user', content: 'héllo' }] });
  for (const when of [0, 90_000]) {
    clock.tick(when);
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer client-key' }, body });
    t.equal(res.statusCode, 200);
    await res.body.dump();
  }
  t.equal(got.length, 2);
  for (const g of got) {
    t.same(g.body, Buffer.from(body), 'the upstream got exactly the client body');
    const amzDate = String(g.headers['x-amz-date']);
    const sig = expectedSignature({ method: 'POST', path: g.path, host: String(g.headers.host), amzDate, token: 'sessTokenXYZ', body: g.body, secret: creds.secretAccessKey, region: 'us-west-2', service: 'bedrock' });
    t.equal(
      g.headers.authorization,
      `AWS4-HMAC-SHA256 Credential=AKIDTESTGATEWAY/${amzDate.slice(0, 8)}/us-west-2/bedrock/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=${sig}`,
      "the client's authorization is replaced by a signature that verifies",
    );
    t.equal(g.headers['x-amz-security-token'], 'sessTokenXYZ');
    t.notMatch(JSON.stringify(g.headers), /gatewaySecretKeyThatNeverLeaks/, 'the secret key itself is never sent');
  }
  t.not(got[0].headers['x-amz-date'], got[1].headers['x-amz-date'], 'each attempt is signed with its own date');
});

t.test('health probes to an aws endpoint are signed', async (t) => {
  const probes: { headers: Record<string, string | string[] | undefined>; path: string }[] = [];
  const { url } = await startUpstream(t, (req, res) => {
    if (req.url?.endsWith('/health')) probes.push({ headers: req.headers, path: req.url });
    req.resume();
    res.writeHead(200).end();
  });
  const creds = { accessKeyId: 'AKIDPROBE', secretAccessKey: 'probeSecret/abc' };
  const config = resolveConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      log: { level: 'silent' },
      health: { probes: true, interval: 100 },
      routing: { modelDiscovery: { interval: 0 } },
      regions: [{ name: 'sm', endpoints: [{ id: 'sm', url, credentials: { aws: { region: 'eu-west-1', service: 'sagemaker' } } }] }],
    },
    {},
  );
  const gw = createGateway(config, { awsCredentials: async () => creds });
  await gw.listen();
  t.teardown(() => gw.close(0, 0));
  await until('a probe', () => probes.length > 0);
  const p = probes[0];
  const amzDate = String(p.headers['x-amz-date']);
  const sig = expectedSignature({ method: 'GET', path: p.path, host: String(p.headers.host), amzDate, body: Buffer.alloc(0), secret: creds.secretAccessKey, region: 'eu-west-1', service: 'sagemaker' });
  t.equal(p.headers.authorization, `AWS4-HMAC-SHA256 Credential=AKIDPROBE/${amzDate.slice(0, 8)}/eu-west-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`);
});
