// Model discovery for `"*"` endpoints, on a fake clock over a real node:http upstream and the real
// fetcher: a list is learned at start and on each interval, survives failed fetches for three rounds,
// then lapses to "may serve any"; a hung list is abandoned at the timeout, an oversized one is refused,
// and close() stops the cadence.
import type { IncomingMessage, ServerResponse } from 'node:http';
import t from 'tap';
import { ModelDiscovery } from '../src/catalog/model-discovery.js';
import { createModelListFetcher } from '../src/catalog/model-list-fetch.js';
import { createEndpoint, type Endpoint } from '../src/registry/endpoint.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { startUpstream, type Teardown } from './helpers/gateway.js';

type Mode = 'list' | 'error' | 'hang' | 'huge' | 'empty';

async function setup(t: Teardown) {
  const state: { mode: Mode; asked: number; headers: IncomingMessage['headers'] | undefined } = { mode: 'list', asked: 0, headers: undefined };
  const hung: ServerResponse[] = [];
  const upstream = await startUpstream(t, (req, res) => {
    state.asked++;
    state.headers = req.headers;
    if (state.mode === 'hang') return void hung.push(res);
    if (state.mode === 'error') return void res.writeHead(500).end('{}');
    const data = state.mode === 'empty' ? [] : state.mode === 'huge' ? Array.from({ length: 200 }, (_, i) => ({ id: `model-${i}` })) : [{ id: 'm1' }, { id: 'm2' }];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
  });
  const endpoint: Endpoint = createEndpoint(
    { name: 'eu', provider: 'test', priority: 0, endpoints: [] },
    { url: `${upstream.url}/base`, weight: 1, models: ['*'], headers: { authorization: 'Bearer k' }, connections: 0 },
    0,
  );
  const clock = new FakeClock();
  const fetcher = createModelListFetcher({ maxBytes: 2048, connectTimeout: 1000 });
  const discovery = new ModelDiscovery({ endpoints: [endpoint], clock, fetch: fetcher.fetch, options: { interval: 10_000, timeout: 500 } });
  t.teardown(async () => {
    discovery.close();
    for (const r of hung) r.destroy();
    await fetcher.close();
  });
  return { state, endpoint, clock, discovery, server: upstream.server };
}

const reported = (e: Endpoint) => (e.reported?.models === undefined ? undefined : [...e.reported.models].sort());

t.test('learned at start and every interval; kept through failed fetches for three rounds, then lapsed', async (t) => {
  const { state, endpoint, clock, discovery } = await setup(t);
  discovery.start();
  await discovery.refresh(); // the round start() began
  t.same(reported(endpoint), ['m1', 'm2']);
  t.equal(state.asked, 1);
  t.equal(state.headers?.authorization, 'Bearer k', 'the endpoint headers go along');

  state.mode = 'error';
  for (let round = 1; round <= 2; round++) {
    clock.tick(10_000);
    await discovery.refresh();
    t.same(reported(endpoint), ['m1', 'm2'], `kept after failed round ${round}`);
  }
  clock.tick(10_000);
  await discovery.refresh();
  t.equal(reported(endpoint), undefined, 'three intervals without a list: back to "may serve any"');
  t.equal(state.asked, 4, 'one fetch per interval, no more');

  state.mode = 'list';
  clock.tick(10_000);
  await discovery.refresh();
  t.same(reported(endpoint), ['m1', 'm2'], 'learned again');
});

t.test('a hung list is abandoned at the timeout, on the injected clock', async (t) => {
  const { state, endpoint, clock, discovery, server } = await setup(t);
  state.mode = 'hang';
  const asked = new Promise((resolve) => server.once('request', resolve));
  const round = discovery.refresh();
  await asked;
  clock.tick(500);
  await round;
  t.equal(reported(endpoint), undefined);
});

t.test('a list over maxBytes is refused; an empty list is no knowledge', async (t) => {
  const { state, endpoint, discovery } = await setup(t);
  state.mode = 'huge';
  await discovery.refresh();
  t.equal(reported(endpoint), undefined, 'over the 2048-byte cap');
  state.mode = 'empty';
  await discovery.refresh();
  t.equal(reported(endpoint), undefined, 'empty: may serve any');
});

t.test('close() stops the cadence', async (t) => {
  const { state, clock, discovery } = await setup(t);
  discovery.start();
  await discovery.refresh();
  discovery.close();
  clock.tick(100_000);
  t.equal(clock.pending, 0, 'no timer left');
  t.equal(state.asked, 1);
});

t.test('endpoints with a configured list are never asked, and interval 0 is off', async (t) => {
  const clock = new FakeClock();
  const listed = createEndpoint({ name: 'eu', provider: 'p', priority: 0, endpoints: [] }, { url: 'http://127.0.0.1:1', weight: 1, models: ['m'], headers: {}, connections: 0 }, 0);
  const any = createEndpoint({ name: 'eu', provider: 'p', priority: 0, endpoints: [] }, { url: 'http://127.0.0.1:1', weight: 1, models: ['*'], headers: {}, connections: 0 }, 1);
  const neverFetch = (): Promise<string[]> => Promise.reject(new Error('must not be called'));
  t.equal(new ModelDiscovery({ endpoints: [listed], clock, fetch: neverFetch, options: { interval: 1000, timeout: 100 } }).active, false);
  const off = new ModelDiscovery({ endpoints: [any], clock, fetch: neverFetch, options: { interval: 0, timeout: 100 } });
  off.start();
  t.equal(off.active, false);
  t.equal(clock.pending, 0);
});
