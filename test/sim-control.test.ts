// The simulator control server and the demo fleet: list regions, set and clear faults over HTTP,
// clear errors on bad input, and fault validation.
import t from 'tap';
import { Agent, request } from 'undici';
import { DEMO_REGIONS, parseFault, RegionSimulator, SimControl, startSimFleet } from '../src/sim/index.js';

const agent = new Agent({ keepAliveTimeout: 500 });
t.teardown(() => agent.destroy());

async function call(url: string, method: 'GET' | 'POST' | 'DELETE', body?: string): Promise<{ status: number; json: unknown }> {
  const res = await request(url, { method, body, dispatcher: agent, headers: { 'content-type': 'application/json' } });
  return { status: res.statusCode, json: await res.body.json() };
}

t.test('demo fleet: three regions with different models, a control server over them', async (t) => {
  const fleet = await startSimFleet(DEMO_REGIONS);
  t.teardown(() => fleet.close());
  t.same(
    fleet.simulators.map((s) => [s.provider, s.name]),
    [
      ['aws', 'us-east-1'],
      ['gcp', 'europe-west4'],
      ['onprem', 'frankfurt'],
    ],
  );
  const frankfurt = fleet.get('frankfurt');
  t.ok(frankfurt);
  t.notOk(frankfurt?.profile.models.includes('gpt-4o-mini'), 'frankfurt does not serve gpt-4o-mini');
  t.equal(fleet.get('nowhere'), undefined);

  const list = await call(`${fleet.control.url}/regions`, 'GET');
  t.equal(list.status, 200);
  t.match(list.json, {
    regions: [
      { name: 'us-east-1', provider: 'aws', url: fleet.simulators[0].url, fault: { mode: 'none' }, stats: { requests: 0 } },
      { name: 'europe-west4' },
      { name: 'frankfurt' },
    ],
  });

  const set = await call(`${fleet.control.url}/regions/us-east-1/fault`, 'POST', '{"mode":"error","status":503}');
  t.equal(set.status, 200);
  t.same(set.json, { name: 'us-east-1', fault: { mode: 'error', status: 503 } });
  const health = await request(`${fleet.simulators[0].url}/health`, { dispatcher: agent });
  t.equal(health.statusCode, 503);
  await health.body.dump();

  const down = await call(`${fleet.control.url}/regions/frankfurt/fault`, 'POST', '{"mode":"down"}');
  t.equal(down.status, 200);
  t.equal(frankfurt?.listening, false, 'the answer came once the listener stopped');

  const one = await call(`${fleet.control.url}/regions/us-east-1`, 'GET');
  t.match(one.json, { name: 'us-east-1', fault: { mode: 'error' }, stats: { requests: 1, faulted: 1 } });
  t.equal((await call(`${fleet.control.url}/regions/us-east-1/stats`, 'DELETE')).status, 200);
  t.equal(fleet.simulators[0].stats.requests, 0);

  t.same((await call(`${fleet.control.url}/regions/us-east-1/fault`, 'DELETE')).json, {
    name: 'us-east-1',
    fault: { mode: 'none' },
  });
  await call(`${fleet.control.url}/regions/frankfurt/fault`, 'DELETE');
  t.equal(frankfurt?.listening, true);
  const ok = await request(`${fleet.simulators[0].url}/health`, { dispatcher: agent });
  t.equal(ok.statusCode, 200);
  await ok.body.dump();
});

t.test('control server: clear errors on bad input', async (t) => {
  const sim = new RegionSimulator({ name: 'solo' });
  const control = new SimControl([sim]);
  await Promise.all([sim.start(), control.start()]);
  t.teardown(() => Promise.all([sim.close(), control.close()]));

  const notJson = await call(`${control.url}/regions/solo/fault`, 'POST', 'nope');
  t.equal(notJson.status, 400);
  t.match(notJson.json, { error: { message: /JSON fault/ } });

  const bad = await call(`${control.url}/regions/solo/fault`, 'POST', '{"mode":"explode","probability":2,"extra":1}');
  t.equal(bad.status, 400);
  t.match(bad.json, { error: { code: 'bad_fault', message: /fault\.mode.*fault\.probability|fault\.extra/ } });
  t.match(bad.json, { error: { issues: ['fault.extra: unknown key', /fault\.mode/, /fault\.probability/] } });
  t.equal(sim.fault.mode, 'none', 'a bad fault changes nothing');

  t.match(await call(`${control.url}/regions/atlantis/fault`, 'POST', '{"mode":"error"}'), {
    status: 404,
    json: { error: { message: /unknown region 'atlantis'.*solo/ } },
  });
  t.equal((await call(`${control.url}/regions`, 'POST', '{}')).status, 405);
  t.equal((await call(`${control.url}/regions/solo`, 'DELETE')).status, 405);
  t.equal((await call(`${control.url}/elsewhere`, 'GET')).status, 404);
});

t.test('parseFault validates every key and freezes the result', async (t) => {
  const ok = parseFault({ mode: 'reset', afterTokens: 3, probability: 0.25 });
  t.ok(ok.ok);
  if (ok.ok) {
    t.same(ok.fault, { mode: 'reset', afterTokens: 3, probability: 0.25 });
    t.ok(Object.isFrozen(ok.fault));
  }
  const bad = parseFault({ mode: 'slow', delayMs: -1, retryAfterSec: 1.5, status: 404 });
  t.same(bad.ok ? [] : bad.errors, [
    'fault.status: must be an integer 500..599',
    'fault.delayMs: must be an integer >= 0',
    'fault.retryAfterSec: must be an integer >= 0',
  ]);
  t.notOk(parseFault(null).ok);
  t.notOk(parseFault(['mode']).ok);
});

t.test('a fleet that fails to start closes what it started', async (t) => {
  const taken = new RegionSimulator({ name: 'taken' });
  await taken.start();
  t.teardown(() => taken.close());
  await t.rejects(startSimFleet([{ name: 'a' }, { name: 'b', port: taken.port }]), { code: 'EADDRINUSE' });
  t.throws(() => new RegionSimulator({ name: '', latencyMs: -1 }), /name.*\n.*latencyMs/s);
});
