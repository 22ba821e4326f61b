import t from 'tap';
import { GatewayError, ERROR_CODES } from '../src/errors.js';
import { brokenAnswer, classifyAnswer, classifyFailure } from '../src/health/classify-failure.js';

const coded = (code: string, message = code): Error => Object.assign(new Error(message), { code });

t.test('evidence about the endpoint: connect, TLS, reset, timeouts', async (t) => {
  const cases: [Error, string, string | undefined, string][] = [
    [coded('ECONNREFUSED'), 'RG_ERR_UPSTREAM_CONNECT', 'connect_refused', 'free'],
    [coded('ENOTFOUND'), 'RG_ERR_UPSTREAM_CONNECT', 'connect_refused', 'free'],
    [coded('EHOSTUNREACH'), 'RG_ERR_UPSTREAM_CONNECT', 'connect_refused', 'free'],
    [coded('UND_ERR_CONNECT_TIMEOUT'), 'RG_ERR_UPSTREAM_CONNECT_TIMEOUT', 'connect_timeout', 'free'],
    [coded('DEPTH_ZERO_SELF_SIGNED_CERT'), 'RG_ERR_UPSTREAM_TLS', 'connect_refused', 'free'],
    [coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'RG_ERR_UPSTREAM_TLS', 'connect_refused', 'free'],
    [coded('ECONNRESET'), 'RG_ERR_UPSTREAM_RESET', 'reset', 'replay'],
    [coded('UND_ERR_SOCKET', 'other side closed'), 'RG_ERR_UPSTREAM_RESET', 'reset', 'replay'],
    // A TLS 1.3 server refusing the client certificate: undici's socket error carries the alert as its cause.
    [Object.assign(coded('UND_ERR_SOCKET', 'other side closed'), { cause: coded('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') }), 'RG_ERR_UPSTREAM_TLS', 'connect_refused', 'free'],
    [Object.assign(coded('UND_ERR_SOCKET', 'other side closed'), { cause: coded('ECONNRESET') }), 'RG_ERR_UPSTREAM_RESET', 'reset', 'replay'],
    [coded('HPE_INVALID_CONSTANT'), 'RG_ERR_UPSTREAM_RESET', 'reset', 'replay'],
    [new GatewayError('RG_ERR_FIRST_BYTE_TIMEOUT'), 'RG_ERR_FIRST_BYTE_TIMEOUT', 'first_byte_timeout', 'replay'],
    [new GatewayError('RG_ERR_UPSTREAM_IDLE_TIMEOUT'), 'RG_ERR_UPSTREAM_IDLE_TIMEOUT', 'idle_timeout', 'never'],
  ];
  for (const [err, code, evidence, retry] of cases) {
    const v = classifyFailure(err);
    t.same([v.error.code, v.evidence, v.retry, v.unrecognised], [code, evidence, retry, false], `${(err as { code?: string }).code}`);
  }
});

t.test('not the endpoint: the client, the gateway, a 1xx, and anything unrecognised', async (t) => {
  const cases: [unknown, string, string][] = [
    // undici refuses `expect` (the client's header): the request cannot be forwarded as sent
    [coded('UND_ERR_NOT_SUPPORTED', 'expect header not supported'), 'RG_ERR_BAD_REQUEST', 'never'],
    [coded('UND_ERR_INVALID_ARG'), 'RG_ERR_BAD_REQUEST', 'never'],
    [coded('EADDRNOTAVAIL'), 'RG_ERR_GATEWAY_RESOURCES', 'never'],
    [coded('EMFILE'), 'RG_ERR_GATEWAY_RESOURCES', 'never'],
    [coded('UND_ERR_CLOSED'), 'RG_ERR_DRAINING', 'never'],
    [coded('UND_ERR_SOCKET', 'bad response'), 'RG_ERR_UPSTREAM_PROTOCOL', 'replay'],
    [new GatewayError('RG_ERR_QUEUE_TIMEOUT'), 'RG_ERR_QUEUE_TIMEOUT', 'free'],
    [new GatewayError('RG_ERR_REQUEST_TIMEOUT'), 'RG_ERR_REQUEST_TIMEOUT', 'never'],
  ];
  for (const [err, code, retry] of cases) {
    const v = classifyFailure(err);
    t.same([v.error.code, v.evidence, v.retry, v.unrecognised], [code, undefined, retry, false], code);
  }
  for (const odd of [new Error('boom'), coded('SOMETHING_NEW'), new TypeError('x is not a function'), 'a string', null, undefined]) {
    const v = classifyFailure(odd);
    t.same([v.error.code, v.evidence, v.retry, v.unrecognised], ['RG_ERR_UNCLASSIFIED', undefined, 'never', true], `unrecognised ${String(odd)}`);
    t.equal(v.error.statusCode, 502);
  }
});

t.test('answers: 502/503/504 are gateway failures, 500 apart, 429 rate limited, 1xx-4xx answers', async (t) => {
  t.same([502, 503, 504].map(classifyAnswer), ['gateway_failure', 'gateway_failure', 'gateway_failure']);
  t.same([500, 501, 505].map(classifyAnswer), ['server_error', 'server_error', 'server_error']);
  t.same([200, 204, 400, 404, 422].map(classifyAnswer), ['success', 'success', 'success', 'success', 'success']);
  t.equal(classifyAnswer(429), 'rate_limited');
});

t.test('a failure after the answer started says so', async (t) => {
  const broken = brokenAnswer(classifyFailure(coded('ECONNRESET')));
  t.equal(broken.code, 'RG_ERR_UPSTREAM_BROKEN');
  t.match(broken.message, /broke off after it had started/);
  t.notMatch(broken.message, /before answering/);
  t.equal(brokenAnswer(classifyFailure(new GatewayError('RG_ERR_UPSTREAM_IDLE_TIMEOUT'))).code, 'RG_ERR_UPSTREAM_IDLE_TIMEOUT');
  t.ok(ERROR_CODES.RG_ERR_UPSTREAM_BROKEN);
});
