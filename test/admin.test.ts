import t from 'tap';
import { request } from 'undici';
import { startGateway, startSim } from './helpers/gateway.js';

const post = (url: string, token?: string) =>
  request(url, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });

t.test('admin API: state, token, drain and undrain move traffic, metrics, dashboard', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], {
    admin: { host: '127.0.0.1', port: 0, enabled: true, token: 'admin-test-token-s3cret' },
    health: { probes: false },
  });
  const admin = gw.admin!.url;

  const denied = await request(`${admin}/admin/state`);
  t.equal(denied.statusCode, 401, 'state needs the token');
  await denied.body.dump();
  const wrong = await request(`${admin}/admin/state`, { headers: { authorization: 'Bearer nope!' } });
  t.equal(wrong.statusCode, 401, 'a wrong token is refused');
  await wrong.body.dump();

  const state = await request(`${admin}/admin/state`, { headers: { authorization: 'Bearer admin-test-token-s3cret' } });
  t.equal(state.statusCode, 200);
  const s = (await state.body.json()) as { gatewayId: string; draining: boolean; endpoints: { id: string; state: string }[]; store: { store: string } };
  t.same(s.endpoints.map((e) => [e.id, e.state]), [['a-0', 'healthy'], ['b-0', 'healthy']]);
  t.equal(s.store.store, 'memory');
  t.equal(s.draining, false);

  const drained = await post(`${admin}/admin/regions/a/drain`, 'admin-test-token-s3cret');
  t.same(await drained.body.json(), { action: 'drain', endpoints: ['a-0'] });
  for (let i = 0; i < 10; i++) {
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{"model":"m"}', headers: { 'content-type': 'application/json' } });
    t.equal(res.headers['x-regiongate-region'], 'b', 'a drained region gets no traffic');
    await res.body.dump();
  }
  const undrained = await post(`${admin}/admin/endpoints/a-0/undrain`, 'admin-test-token-s3cret');
  t.equal(undrained.statusCode, 200);
  await undrained.body.dump();
  t.not(gw.health.state(gw.registry.endpoint('a-0')!), 'drained');

  const missing = await post(`${admin}/admin/endpoints/zz/drain`, 'admin-test-token-s3cret');
  t.equal(missing.statusCode, 404);
  await missing.body.dump();
  const method = await request(`${admin}/admin/endpoints/a-0/drain`, { headers: { authorization: 'Bearer admin-test-token-s3cret' } });
  t.equal(method.statusCode, 405, 'actions need POST');
  await method.body.dump();

  const metrics = await request(`${admin}/metrics`);
  t.equal(metrics.statusCode, 200, 'metrics open to the scraper');
  const text = await metrics.body.text();
  t.match(text, /regiongate_attempts_total\{endpoint="b-0",region="b",outcome="success"\} 10/);
  t.match(text, /regiongate_requests_total\{class="2xx"\} 10/);
  // Drains are fleet intents: every gateway, this one included, applies them from the fleet's view.
  t.match(text, /regiongate_health_transitions_total\{to="drained",cause="remote"\} 1/);
  t.match(text, /regiongate_endpoint_state\{endpoint="a-0",region="a",state="healthy"\} 1/);

  const page = await request(`${admin}/`);
  t.match(await page.body.text(), /<title>regiongate<\/title>/);
});
