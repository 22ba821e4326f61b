// The access log and the request metrics: one JSON line per proxied request with what an operator needs
// to explain it (on by default; `log.access: false` or `log.level: silent` turns it off) (retries and why, where it went, how long, how many bytes), and latency histograms,
// requests by status class and model, and retries by reason on the admin port's /metrics.
import t from 'tap';
import { request } from 'undici';
import { refusedUrl, startGateway, startSim, startUpstream, type Teardown } from './helpers/gateway.js';
import { until } from './helpers/wait.js';

interface AccessLine {
  event: string;
  gatewayId: string;
  worker: number;
  requestId: string;
  method: string;
  path: string;
  model: string | null;
  status: number;
  error: string | null;
  region: string | null;
  endpoint: string | null;
  attempts: number;
  retryReasons: string[];
  durationMs: number;
  firstByteMs: number | null;
  bytesIn: number;
  bytesOut: number;
}

const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
const answer = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [] });

/** Three regions by priority: nothing listening, a 502, then a server that answers and records the request id. */
async function retryingGateway(t: Teardown, lines: string[], overrides: Record<string, unknown> = {}) {
  const seenIds: string[] = [];
  const good = await startUpstream(t, (req, res) => {
    seenIds.push(String(req.headers['x-request-id']));
    req.resume().on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  const bad = await startSim(t, { name: 'bad' });
  await bad.setFault({ mode: 'error', status: 502 });
  const gw = await startGateway(
    t,
    [
      { name: 'dead', url: await refusedUrl(), priority: 0, models: ['m'] },
      { name: 'bad', url: bad.url, priority: 1, models: ['m'] },
      { name: 'good', url: good.url, priority: 2, models: ['m'] },
    ],
    { health: { probes: false }, retry: { attempts: 3 }, log: { level: 'error', access: true }, gatewayId: 'gw-access', ...overrides },
    { logWrite: (l) => void lines.push(l) },
  );
  return { gw, seenIds };
}

const chat = (url: string, headers: Record<string, string> = {}) =>
  request(`${url}/v1/chat/completions?api-version=secret-ish`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

t.test('a retried request logs one access line with its attempts, retry reasons, region, durations and bytes', async (t) => {
  const lines: string[] = [];
  const { gw, seenIds } = await retryingGateway(t, lines);
  const res = await chat(gw.url, { 'x-request-id': 'req-telemetry-1' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-regiongate-attempts'], '3');
  await res.body.text();
  // The line is written in the same step as the answer's last byte (`res.end`), so it is there now.
  t.same(seenIds, ['req-telemetry-1'], 'the client\'s request id reached the upstream');
  const access = lines.map((l) => JSON.parse(l) as AccessLine).filter((l) => l.event === 'http.access');
  t.equal(access.length, 1, 'one line for the request');
  const a = access[0];
  t.match(a, {
    gatewayId: 'gw-access',
    worker: 0,
    requestId: 'req-telemetry-1',
    method: 'POST',
    path: '/v1/chat/completions',
    model: 'm',
    status: 200,
    error: null,
    region: 'good',
    endpoint: 'good-0',
    attempts: 3,
    bytesIn: Buffer.byteLength(body),
    bytesOut: Buffer.byteLength(answer),
  });
  t.same(a.retryReasons, ['connect_refused', 'http_502'], 'why each earlier attempt was not used');
  t.ok(a.firstByteMs !== null && a.firstByteMs >= 0 && a.firstByteMs <= a.durationMs, 'first byte within the total');
  t.notMatch(lines.join(''), /secret-ish/, 'the query string is not logged');
});

t.test('a gateway-made error is logged with its code; log.access: false writes no line', async (t) => {
  const lines: string[] = [];
  const dead = await refusedUrl();
  const gw = await startGateway(t, [{ name: 'dead', url: dead, models: ['m'] }], {
    health: { probes: false },
    retry: { attempts: 1 },
    log: { level: 'error', access: true },
  }, { logWrite: (l) => void lines.push(l) });
  const res = await chat(gw.url);
  t.equal(res.statusCode, 502);
  await res.body.dump();
  const a = JSON.parse(lines.find((l) => l.includes('"http.access"')) ?? '{}') as AccessLine;
  t.match(a, { status: 502, error: 'RG_ERR_UPSTREAM_CONNECT', region: 'dead', attempts: 1, retryReasons: [] });
  t.match(a.requestId, /^[0-9a-f-]{36}$/, 'a generated request id');

  const quiet: string[] = [];
  for (const log of [{ level: 'info', access: false }, { level: 'silent', access: true }] as const) {
    const gw2 = await startGateway(t, [{ name: 'dead', url: dead, models: ['m'] }], { health: { probes: false }, retry: { attempts: 1 }, log }, {
      logWrite: (l) => void quiet.push(l),
    });
    const res2 = await chat(gw2.url);
    await res2.body.dump();
    t.same(quiet.filter((l) => l.includes('"http.access"')), [], `${JSON.stringify(log)}: no access line`);
  }
});

t.test('/metrics has latency histograms per region, requests by status class and model, retries by reason', async (t) => {
  const lines: string[] = [];
  const { gw } = await retryingGateway(t, lines, { admin: { host: '127.0.0.1', port: 0, enabled: true, token: 'telemetry-test-token-1' } });
  let retried = 0;
  for (let i = 0; i < 3; i++) {
    const res = await chat(gw.url);
    t.equal(res.statusCode, 200);
    retried += Number(res.headers['x-regiongate-attempts']) - 1;
    await res.body.dump();
  }
  // A model no endpoint is configured with: counted as "other", never as a label of its own.
  const odd = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{"model":"client-made-up-42"}', headers: { 'content-type': 'application/json' } });
  await odd.body.dump();
  const text = await (await request(`${gw.admin!.url}/metrics`)).body.text();
  t.match(text, /# TYPE regiongate_request_duration_seconds histogram/);
  t.match(text, /regiongate_request_duration_seconds_count\{region="good"\} 3\n/);
  t.match(text, /regiongate_request_duration_seconds_bucket\{region="good",le="\+Inf"\} 3\n/);
  t.match(text, /regiongate_time_to_first_byte_seconds_count\{region="good"\} 3\n/);
  t.match(text, /regiongate_model_requests_total\{class="2xx",model="m"\} 3\n/);
  t.match(text, /regiongate_model_requests_total\{class="[45]xx",model="other"\} 1\n/);
  t.notMatch(text, /client-made-up-42/, 'client-chosen model names never become labels');
  // The first request fails over twice; later ones may skip an endpoint health has since ejected.
  t.match(text, /regiongate_retries_total\{reason="connect_refused"\} [1-3]\n/);
  t.match(text, /regiongate_retries_total\{reason="http_502"\} [1-3]\n/);
  const retries = [...text.matchAll(/^regiongate_retries_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  t.equal(retries, retried, 'one retry counted per extra attempt the clients saw');
  t.match(text, /regiongate_gateway_errors_total\{code="[A-Z_]+"\} 1\n/, 'the gateway-made answer is counted by its code');
  // Buckets are cumulative: each le count is at least the one before it.
  const counts = [...text.matchAll(/regiongate_request_duration_seconds_bucket\{region="good",le="[^"]+"\} (\d+)/g)].map((m) => Number(m[1]));
  t.ok(counts.length > 2 && counts.every((c, i) => i === 0 || c >= counts[i - 1]), 'cumulative buckets');
});

t.test('a client that leaves mid-stream is logged as gone, with the status it had and the bytes it got', async (t) => {
  const lines: string[] = [];
  const sim = await startSim(t, { name: 's', tokens: 200, tokenIntervalMs: 20 });
  const gw = await startGateway(t, [{ name: 's', url: sim.url, models: ['m'] }], { health: { probes: false }, log: { level: 'error', access: true } }, {
    logWrite: (l) => void lines.push(l),
  });
  const ac = new AbortController();
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-gone-1' },
    body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
    signal: ac.signal,
  });
  t.equal(res.statusCode, 200);
  // Wait for the first chunk, then leave.
  await new Promise<void>((resolve) => res.body.once('data', () => resolve()));
  ac.abort();
  res.body.on('error', () => undefined);
  await until('the access line', () => lines.some((l) => l.includes('"req-gone-1"')));
  const a = JSON.parse(lines.find((l) => l.includes('"req-gone-1"')) ?? '{}') as AccessLine & { clientGone: boolean };
  t.match(a, { status: 200, clientGone: true, region: 's', attempts: 1 });
  t.ok(a.bytesOut > 0, 'the bytes the client got before it left');
});
