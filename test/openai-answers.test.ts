// OpenAI-compatible answers through a real gateway over simulated regions and node:http upstreams: an
// unknown model is a 404 `model_not_found` (not a 503 that SDKs retry), an unknown region in
// `x-regiongate-regions` a 400, a model served only outside the allowed regions a 404 with its own
// gateway code; `GET /v1/models/{id}` is routed like a request for that model (answered locally when
// the list is known); and the model lists of `"*"` endpoints are learned, so `GET /v1/models` lists
// what every region serves and requests go only where their model is served.
import t from 'tap';
import { request } from 'undici';
import type { RunningGateway } from '../src/create-gateway.js';
import { forwardedCount, refusedUrl, startGateway, startSim, startUpstream } from './helpers/gateway.js';

const passive = { health: { probes: false } };
const discovery = { modelDiscovery: { interval: '1h' } };

async function chat(gw: RunningGateway, model: string, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await res.body.json()) as { error?: { message: string; type: string; param?: string | null; code: string } };
  return { status: res.statusCode, headers: res.headers, body };
}

async function get(gw: RunningGateway, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url}${path}`, { headers });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
}

const ids = (body: Record<string, unknown>) => (body.data as { id: string }[]).map((m) => m.id);

t.test('an unknown model gets 404 model_not_found, without retry-after and without reaching an endpoint', async (t) => {
  const a = await startSim(t, { name: 'a', models: ['m-a'] });
  const b = await startSim(t, { name: 'b', models: ['m-b'] });
  const gw = await startGateway(t, [{ name: 'a', url: a.url, models: ['m-a'] }, { name: 'b', url: b.url, models: ['m-b'] }], passive);
  const res = await chat(gw, 'gpt-typo');
  t.equal(res.status, 404);
  t.equal(res.headers['x-regiongate-error'], 'RG_ERR_MODEL_NOT_FOUND');
  t.equal(res.headers['retry-after'], undefined, 'nothing tells a client to retry a typo');
  t.equal(res.headers['x-regiongate-attempts'], '0');
  t.match(res.body.error, { type: 'invalid_request_error', param: 'model', code: 'model_not_found', message: /gpt-typo/ });
  t.equal(forwardedCount(a) + forwardedCount(b), 0);
  t.equal((await chat(gw, 'm-b')).status, 200, 'a known model still goes through');
});

t.test('an unknown region in x-regiongate-regions gets 400 RG_ERR_UNKNOWN_REGION, on requests and on /v1/models', async (t) => {
  const a = await startSim(t, { name: 'eu-west-1' });
  const gw = await startGateway(t, [{ name: 'eu-west-1', url: a.url, models: ['m'] }], passive);
  for (const header of ['eu-wst-1', 'eu-west-1,eu-wst-1']) {
    const res = await chat(gw, 'm', { 'x-regiongate-regions': header });
    t.equal(res.status, 400, header);
    t.equal(res.headers['x-regiongate-error'], 'RG_ERR_UNKNOWN_REGION');
    t.match(res.body.error, { type: 'invalid_request_error', code: 'RG_ERR_UNKNOWN_REGION', message: /"eu-wst-1".*eu-west-1/ });
  }
  const list = await get(gw, '/v1/models', { 'x-regiongate-regions': 'nowhere' });
  t.equal(list.status, 400);
  t.equal(list.headers['x-regiongate-error'], 'RG_ERR_UNKNOWN_REGION');
  t.equal(forwardedCount(a), 0);
  t.equal((await chat(gw, 'm', { 'x-regiongate-regions': ' eu-west-1 ' })).status, 200, 'a known region still works');
});

t.test('a model served only outside the allowed regions gets 404 RG_ERR_NOT_IN_REGIONS (header or residency rule)', async (t) => {
  const eu = await startSim(t, { name: 'eu' });
  const us = await startSim(t, { name: 'us' });
  const regions = [
    { name: 'eu', url: eu.url, models: ['shared'] },
    { name: 'us', url: us.url, models: ['shared', 'us-only'] },
  ];
  const gw = await startGateway(t, regions, { ...passive, routing: { rules: [{ model: 'us-only', regions: ['eu'] }] } });
  const ruled = await chat(gw, 'us-only');
  t.equal(ruled.status, 404, 'the rule allows eu only, where the model is not served');
  t.equal(ruled.headers['x-regiongate-error'], 'RG_ERR_NOT_IN_REGIONS');
  t.match(ruled.body.error, { type: 'invalid_request_error', param: 'model', code: 'model_not_found', message: /us-only.*regions/ });
  const headered = await chat(gw, 'shared', { 'x-regiongate-regions': 'eu' });
  t.equal(headered.status, 200);
  const narrowed = await request(`${gw.url}/v1/models`, { headers: { 'x-regiongate-regions': 'eu' } });
  t.same(ids((await narrowed.body.json()) as Record<string, unknown>), ['shared'], 'the list honours the header');
  const all = await get(gw, '/v1/models');
  t.same(ids(all.body), ['shared'], 'and the rules: us-only may not be served anywhere it is served');
  t.equal(forwardedCount(us), 0, 'nothing reached us');
});

t.test('a model that exists but whose endpoints are down is still tried: a 5xx, not a 404', async (t) => {
  const dead = await refusedUrl();
  const b = await startSim(t, { name: 'b' });
  const gw = await startGateway(t, [{ name: 'a', url: dead, models: ['m-a'] }, { name: 'b', url: b.url, models: ['m-b'] }], passive);
  const res = await chat(gw, 'm-a');
  t.equal(res.status, 502);
  t.equal(res.headers['x-regiongate-error'], 'RG_ERR_UPSTREAM_CONNECT');
});

t.test('GET /v1/models/{id} is routed like a request for that model, and answered locally when the list is known', async (t) => {
  const seen: { a: string[]; b: string[] } = { a: [], b: [] };
  const upstream = (name: 'a' | 'b') => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    seen[name].push(req.url ?? '');
    const body = JSON.stringify({ id: decodeURIComponent((req.url ?? '').split('/').slice(3).join('/')), object: 'model', created: 1, owned_by: name });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const a = await startUpstream(t, upstream('a'));
  const b = await startUpstream(t, upstream('b'));
  const gw = await startGateway(t, [{ name: 'a', url: a.url, models: ['org/m-a'] }, { name: 'b', url: b.url, models: ['*'] }], passive);

  for (let i = 0; i < 8; i++) {
    const res = await get(gw, '/v1/models/other-model');
    t.equal(res.headers['x-regiongate-region'], 'b', 'a model a does not list goes to the "*" endpoint only');
  }
  t.same(seen.a, [], 'a never got a retrieve for a model it does not serve');

  const local = await get(gw, '/v1/models/org%2Fm-a');
  t.equal(local.status, 200);
  t.equal(local.headers['x-regiongate-attempts'], '0', 'answered by the gateway');
  t.match(local.body, { id: 'org/m-a', object: 'model' });
  t.equal((await get(gw, '/v1/models/org/m-a')).body.id, 'org/m-a', 'an id with a slash, unescaped');
  t.same(seen.a, [], 'nothing forwarded for a known model');

  const restricted = await get(gw, '/v1/models/org%2Fm-a', { 'x-regiongate-regions': 'b' });
  t.equal(restricted.headers['x-regiongate-region'], 'b', 'outside the allowed regions the list is not known: routed');

  const bad = await get(gw, '/v1/models/%E0%A4%A');
  t.equal(bad.status, 400);
  t.equal(bad.headers['x-regiongate-error'], 'RG_ERR_BAD_REQUEST');
  const dots = await get(gw, '/v1/models/..%2F..%2Fadmin');
  t.equal(dots.status, 400, 'an id with dot segments is refused');
});

t.test('GET /v1/models/{id} for an unknown model is a local 404 model_not_found', async (t) => {
  const a = await startSim(t, { name: 'a', models: ['m-a'] });
  const gw = await startGateway(t, [{ name: 'a', url: a.url, models: ['m-a'] }], passive);
  const res = await get(gw, '/v1/models/nope');
  t.equal(res.status, 404);
  t.equal(res.headers['x-regiongate-error'], 'RG_ERR_MODEL_NOT_FOUND');
  t.match(res.body, { error: { code: 'model_not_found', param: 'model' } });
  t.equal(forwardedCount(a), 0);
});

t.test('"*" endpoints: their own model lists are learned; /v1/models is the union, requests go where their model is', async (t) => {
  const a = await startSim(t, { name: 'a', models: ['m-a', 'shared'] });
  const b = await startSim(t, { name: 'b', models: ['m-b', 'shared'] });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], { ...passive, routing: discovery });
  await gw.modelDiscovery.refresh();
  const list = await get(gw, '/v1/models');
  t.equal(list.headers['x-regiongate-attempts'], '0', 'answered by the gateway');
  t.same(ids(list.body), ['m-a', 'm-b', 'shared'], 'the union of every region');
  t.same(ids((await get(gw, '/v1/models', { 'x-regiongate-regions': 'b' })).body), ['m-b', 'shared']);
  for (let i = 0; i < 8; i++) t.equal((await chat(gw, 'm-b')).headers['x-regiongate-region'], 'b', 'm-b only where it is served');
  t.equal(forwardedCount(a) - (a.stats.byPath['/v1/models'] ?? 0), 0, 'a got no chat for a model it does not serve');
  const before = forwardedCount(a) + forwardedCount(b);
  const unknown = await chat(gw, 'nope');
  t.equal(unknown.status, 404);
  t.equal(unknown.headers['x-regiongate-error'], 'RG_ERR_MODEL_NOT_FOUND');
  t.equal(forwardedCount(a) + forwardedCount(b), before, 'answered without asking an endpoint');
  t.equal((await get(gw, '/v1/models/m-a')).headers['x-regiongate-attempts'], '0', 'a learned model is answered locally');
});

t.test('"*" endpoints with residency rules: the learned list honours them', async (t) => {
  const eu = await startSim(t, { name: 'eu', models: ['eu-model', 'shared'] });
  const us = await startSim(t, { name: 'us', models: ['us-model', 'shared'] });
  const gw = await startGateway(t, [{ name: 'eu', url: eu.url }, { name: 'us', url: us.url }], {
    ...passive,
    routing: { ...discovery, rules: [{ model: 'us-model', regions: ['eu'] }] },
  });
  await gw.modelDiscovery.refresh();
  t.same(ids((await get(gw, '/v1/models')).body), ['eu-model', 'shared'], 'us-model may only go to eu, which does not serve it');
  const res = await chat(gw, 'us-model');
  t.equal(res.status, 404);
  t.equal(res.headers['x-regiongate-error'], 'RG_ERR_NOT_IN_REGIONS');
});

t.test('a "*" endpoint that does not answer its model list still takes any model', async (t) => {
  const listed = await startSim(t, { name: 'a', models: ['m-a'] });
  const silent = await startUpstream(t, (req, res) => {
    if (req.url === '/v1/models') return void res.writeHead(404).end();
    const body = JSON.stringify({ ok: true });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
  const gw = await startGateway(t, [{ name: 'a', url: listed.url }, { name: 'b', url: silent.url }], { ...passive, routing: discovery });
  await gw.modelDiscovery.refresh();
  t.equal((await get(gw, '/v1/models/anything')).headers['x-regiongate-region'], 'b', 'b may serve it: asked');
  const res = await chat(gw, 'anything');
  t.equal(res.status, 200);
  t.equal(res.headers['x-regiongate-region'], 'b');
});
