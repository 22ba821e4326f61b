// Paths, methods and framing at the edge: dot segments normalised inside the endpoint's base path,
// ambiguous encodings refused, TRACE/TRACK/CONNECT refused, and the request-smuggling shapes that
// Node's parser lets through refused before anything reaches an upstream.
import t from 'tap';
import { normalizePath } from '../src/proxy/edge-checks.js';
import { forwardedCount, startGateway, startSim } from './helpers/gateway.js';
import { portOf, rawRequest } from './helpers/raw-http.js';

interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
}

t.test('normalizePath: RFC 3986 §5.2.4 dot segments, %2e included, and ambiguous encodings', async (t) => {
  const cases: [string, string | undefined][] = [
    ['/v1/chat/completions', '/v1/chat/completions'],
    ['/../tenant-b/x', '/tenant-b/x'],
    ['/a/b/c/./../../g', '/a/g'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/..', '/'],
    ['/%2e%2e/%2E%2e/x', '/x'],
    ['/a/.%2e/b', '/b'],
    ['/a//b', '/a//b'],
    ['/v1/files/file-1.jsonl', '/v1/files/file-1.jsonl'],
    ['/v1/models/org%2Fname', '/v1/models/org%2Fname'],
    ['/a/..%2f..%2fb', undefined],
    ['/a/%2e%2e%5cb', undefined],
    ['/a\\..\\b', undefined],
    ['/a/%252e%252e/b', undefined],
    ['/a%00.json', undefined],
  ];
  for (const [input, want] of cases) t.equal(normalizePath(input), want, input);
});

t.test('a path with dot segments never leaves the endpoint base path', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: `${sim.url}/tenant-a` }]);
  for (const target of ['/../tenant-b/x', '/%2e%2e/tenant-b/x', '/v1/../../tenant-b/x']) {
    const a = await rawRequest(portOf(gw.url), `GET ${target}?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.equal(a.status, 200, target);
    const echo = JSON.parse(a.body) as Echo;
    t.equal(echo.path, '/tenant-a/tenant-b/x', `${target} stays under /tenant-a`);
    t.equal(echo.query, 'q=1', 'the query is kept');
  }
});

t.test('ambiguous path encodings are refused with 400 RG_ERR_AMBIGUOUS_PATH', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: `${sim.url}/tenant-a` }]);
  for (const target of ['/..%2ftenant-b/x', '/x/..%5C..%5Ctenant-b', '/x\\..\\..\\tenant-b', '/%252e%252e/tenant-b', '/v1/files%00.json']) {
    const a = await rawRequest(portOf(gw.url), `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    t.equal(a.status, 400, target);
    t.equal(a.headers['x-regiongate-error'], 'RG_ERR_AMBIGUOUS_PATH');
    t.match(JSON.parse(a.body), { error: { code: 'RG_ERR_AMBIGUOUS_PATH' } });
  }
  t.equal(forwardedCount(sim), 0, 'nothing reached the endpoint');
});

t.test('TRACE, TRACK, CONNECT and method overrides to them are refused; the endpoint credentials never echo back', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url, headers: { Authorization: 'Bearer sk-endpoint-secret' } }]);
  const port = portOf(gw.url);
  const trace = await rawRequest(port, 'TRACE /v1/models HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(trace.status, 405);
  t.equal(trace.headers['x-regiongate-error'], 'RG_ERR_METHOD_NOT_ALLOWED');
  t.match(trace.headers.allow, /GET/);
  t.notMatch(trace.body, /sk-endpoint-secret/);
  const override = await rawRequest(port, 'POST /v1/x HTTP/1.1\r\nHost: x\r\nX-HTTP-Method-Override: trace\r\nContent-Length: 0\r\n\r\n');
  t.equal(override.status, 405, 'X-HTTP-Method-Override: TRACE');
  const connect = await rawRequest(port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
  t.equal(connect.status, 405, 'CONNECT gets an answer, not a silent close');
  t.equal(connect.headers['x-regiongate-error'], 'RG_ERR_METHOD_NOT_ALLOWED');
  const track = await rawRequest(port, 'TRACK / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(track.status, 400, "TRACK: Node's parser does not know it, the gateway answers 400");
  const upgradeTrace = await rawRequest(port, 'TRACE / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  t.equal(upgradeTrace.status, 405, 'TRACE dressed as an upgrade');
  t.equal(forwardedCount(sim), 0, 'nothing reached the endpoint');
});

t.test('request smuggling shapes are refused before any upstream sees them', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const port = portOf(gw.url);
  const shapes: Record<string, string> = {
    // Refused by Node's parser (llhttp):
    'Content-Length with Transfer-Encoding': 'POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'two Content-Length headers': 'POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    'chunked not last': 'POST /v1/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
    'space before the colon': 'POST /v1/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
    'obsolete line folding': 'GET /v1/x HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
    'signed Content-Length': 'POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello',
    // Accepted by Node, refused by the gateway:
    'two Host headers': 'GET /v1/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'a coding before chunked': 'POST /v1/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    'Transfer-Encoding: identity': 'POST /v1/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\nhello',
  };
  for (const [shape, bytes] of Object.entries(shapes)) {
    const a = await rawRequest(port, bytes);
    t.equal(a.status, 400, shape);
    t.equal(a.headers['x-regiongate-error'], 'RG_ERR_BAD_REQUEST', shape);
  }
  t.equal(forwardedCount(sim), 0, 'nothing reached the endpoint');
  const ok = await rawRequest(port, 'POST /v1/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  t.equal(ok.status, 200, 'plain chunked still works');
});
