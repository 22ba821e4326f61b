// The official `openai` SDK as the client, through a real gateway over simulated regions: a typo in the
// model is a NotFoundError on the first call (the SDK retried the old 503 twice and reported an outage),
// an unknown region a BadRequestError, and models.list / models.retrieve see every region's models.
import { BadRequestError, NotFoundError, OpenAI } from 'openai';
import t from 'tap';
import type { RunningGateway } from '../src/create-gateway.js';
import { startGateway, startSim } from './helpers/gateway.js';

/** An SDK client on `gw` that counts the HTTP requests it sends (retries included). */
function client(gw: RunningGateway, headers: Record<string, string> = {}) {
  const sent = { count: 0 };
  const sdk = new OpenAI({
    baseURL: `${gw.url}/v1`,
    apiKey: 'sk-test',
    maxRetries: 2,
    defaultHeaders: headers,
    fetch: (input, init) => {
      sent.count++;
      return fetch(input, init);
    },
  });
  return { sdk, sent };
}

const ask = (sdk: OpenAI, model: string) => sdk.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

t.test('the SDK gets NotFoundError model_not_found for an unknown model, on its first and only call', async (t) => {
  const a = await startSim(t, { name: 'a', models: ['m-a'] });
  const gw = await startGateway(t, [{ name: 'a', url: a.url, models: ['m-a'] }], { health: { probes: false } });
  const { sdk, sent } = client(gw);
  const err = await ask(sdk, 'gpt-typo').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof NotFoundError, `NotFoundError, got ${String(err)}`);
  t.match(err, { status: 404, code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
  t.equal(sent.count, 1, 'not retried');
  const ok = await ask(sdk, 'm-a');
  t.equal(ok.object, 'chat.completion');
});

t.test('the SDK gets BadRequestError for an unknown region, without retrying', async (t) => {
  const a = await startSim(t, { name: 'a', models: ['m-a'] });
  const gw = await startGateway(t, [{ name: 'a', url: a.url, models: ['m-a'] }], { health: { probes: false } });
  const { sdk, sent } = client(gw, { 'x-regiongate-regions': 'b' });
  const err = await ask(sdk, 'm-a').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof BadRequestError, `BadRequestError, got ${String(err)}`);
  t.match(err, { status: 400, code: 'RG_ERR_UNKNOWN_REGION' });
  t.equal(sent.count, 1);
});

t.test('models.list and models.retrieve see every region, with "*" endpoints', async (t) => {
  const a = await startSim(t, { name: 'a', models: ['m-a'] });
  const b = await startSim(t, { name: 'b', models: ['m-b'] });
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], {
    health: { probes: false },
    routing: { modelDiscovery: { interval: '1h' } },
  });
  await gw.modelDiscovery.refresh();
  const { sdk } = client(gw);
  const ids: string[] = [];
  for await (const m of sdk.models.list()) ids.push(m.id);
  t.same(ids, ['m-a', 'm-b']);
  t.equal((await sdk.models.retrieve('m-b')).id, 'm-b');
  const err = await sdk.models.retrieve('nope').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof NotFoundError);
  t.equal((await ask(sdk, 'm-b')).object, 'chat.completion');
});
