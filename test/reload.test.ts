// Live config reload (docs/reload.md) in one process, on real sockets with simulator upstreams: the
// config file is re-read through the same loader as at start (`configSource`) and applied by
// `POST /admin/reload`. Under steady load no client request fails; a stream to a removed endpoint
// finishes; endpoints that stay keep their state and operator intents; added ones start in probation and
// get probes; live settings apply and the others are named in `notLive`; a broken file is refused with
// the list `check-config` prints, and the old config keeps serving.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { loadConfigFile } from '../src/config/index.js';
import { createGateway, type RunningGateway } from '../src/create-gateway.js';
import { ConfigError } from '../src/errors.js';
import type { RegionSimulator } from '../src/sim/index.js';
import { startSim } from './helpers/gateway.js';
import { tempDir } from './helpers/redis-server.js';
import { until, within } from './helpers/wait.js';

interface Region {
  readonly name: string;
  readonly url: string;
}

/** A config file's text: admin on port 0 without a token (loopback), probes on, long probation. */
function configText(regions: readonly Region[], extra: readonly string[] = []): string {
  return [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { host: 127.0.0.1, port: 0 }',
    'log: { level: info, access: false }',
    'health: { interval: 200ms, probation: { window: 10m } }',
    'routing: { modelDiscovery: { interval: 0 } }',
    ...extra,
    'regions:',
    ...regions.map((r) => `  - { name: ${r.name}, endpoints: [{ url: "${r.url}" }] }`),
    '',
  ].join('\n');
}

interface Started {
  readonly gw: RunningGateway;
  readonly file: string;
  readonly logs: string[];
  write(text: string): void;
}

async function startFromFile(tt: Parameters<typeof tempDir>[0], text: string): Promise<Started> {
  const file = join(tempDir(tt, 'regiongate-reload-'), 'config.yaml');
  writeFileSync(file, text);
  const logs: string[] = [];
  const gw = createGateway(loadConfigFile(file, {}), { configSource: () => loadConfigFile(file, {}), logWrite: (l) => void logs.push(l) });
  await gw.listen();
  tt.teardown(() => gw.close(0, 0));
  return { gw, file, logs, write: (s) => writeFileSync(file, s) };
}

async function reloadOverAdmin(gw: RunningGateway): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`${gw.admin?.url}/admin/reload`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

const CHAT = JSON.stringify({ model: 'm', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });

function forwarded(sim: RegionSimulator): number {
  return sim.stats.byPath['/v1/chat/completions'] ?? 0;
}

t.test('a reload under steady load: zero client errors, a stream to a removed endpoint finishes, state kept', async (t) => {
  const a = await startSim(t, { name: 'a' });
  // b is removed by the reload: slow tokens keep its stream (and some load) in flight across it.
  const b = await startSim(t, { name: 'b', tokens: 20, tokenIntervalMs: 40 });
  const c = await startSim(t, { name: 'c' });
  const d = await startSim(t, { name: 'd' });
  const before = [
    { name: 'a', url: a.url },
    { name: 'b', url: b.url },
    { name: 'd', url: d.url },
  ];
  const { gw, write, logs } = await startFromFile(t, configText(before));
  const endpointA = gw.registry.endpoint('a-0');
  t.ok(endpointA, 'a is configured');

  // An operator drain of d: a fleet intent that must survive the reload.
  const drain = await request(`${gw.admin?.url}/admin/endpoints/d-0/drain?force=true`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.equal(drain.statusCode, 200, 'd drained');
  await drain.body.dump();

  // Steady, bounded load: four clients in a loop until told to stop.
  let stop = false;
  const statuses: number[] = [];
  const client = async (): Promise<void> => {
    while (!stop) {
      const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: CHAT, headers: { 'content-type': 'application/json' } });
      statuses.push(res.statusCode);
      await res.body.dump();
    }
  };
  const load = Promise.all([client(), client(), client(), client()]);
  await until('a has latency samples', () => (gw.health.snapshot().find((s) => s.id === 'a-0')?.samples ?? 0) > 0);

  // A stream held by b, in flight when the reload removes b.
  const stream = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    headers: { 'content-type': 'application/json', 'x-regiongate-regions': 'b' },
  });
  t.equal(stream.statusCode, 200, 'the stream started on b');
  let text = '';
  const firstChunk = new Promise<void>((resolve) => stream.body.once('data', () => resolve()));
  stream.body.setEncoding('utf8');
  stream.body.on('data', (d: string) => (text += d));
  const streamEnded = new Promise<void>((resolve, reject) => {
    stream.body.once('end', resolve);
    stream.body.once('error', reject);
  });
  await within('the first chunk of the stream', firstChunk);

  // Reload: b removed, c added, a and d unchanged, a live tunable and a restart-only setting changed.
  write(
    configText(
      [
        { name: 'a', url: a.url },
        { name: 'c', url: c.url },
        { name: 'd', url: d.url },
      ],
      ['retry: { attempts: 2 }'],
    ).replace('listen: { host: 127.0.0.1, port: 0 }', 'listen: { host: 127.0.0.1, port: 0, backlog: 1024 }'),
  );
  const forwardedToB = forwarded(b);
  const answer = await reloadOverAdmin(gw);
  t.equal(answer.status, 200, 'reload answered 200');
  t.same(answer.body, { reloaded: true, added: ['c-0'], removed: ['b-0'], changed: [], unchanged: 2, notLive: ['listen.backlog'] }, 'what changed, and what needs a restart');
  t.ok(logs.some((l) => l.includes('"event":"config.not_live"') && l.includes('listen.backlog')), 'the restart-only setting is logged');

  // Live: the new tunable, the new endpoint set.
  t.equal(gw.config.retry.attempts, 2, 'retry.attempts is live');
  t.notOk(gw.registry.endpoint('b-0'), 'b is gone from the registry');
  t.equal(gw.registry.endpoint('a-0'), endpointA, 'a kept its endpoint object');
  const snap = (id: string) => gw.health.snapshot().find((s) => s.id === id);
  t.ok((snap('a-0')?.samples ?? 0) > 0, 'a kept its latency samples');
  t.equal(snap('d-0')?.state, 'drained', 'the drain of d still applies');
  t.equal(snap('c-0')?.state, 'probation', 'c starts in probation');
  t.notOk(snap('b-0'), 'b is no longer tracked');

  // The stream on b runs to its end; nothing new goes to b.
  await within('the stream on b to end', streamEnded);
  t.match(text, /data: \[DONE\]/, 'the stream on the removed endpoint finished completely');
  await until('c is probed', () => (c.stats.byPath['/health'] ?? 0) > 0);
  await until('c takes requests', () => forwarded(c) > 0);
  stop = true;
  await load;
  t.ok(forwarded(b) - forwardedToB <= 4, 'b got nothing new after the reload (at most the requests already in flight)');
  t.ok(statuses.length > 0, 'the load ran');
  t.same(statuses.filter((s) => s !== 200), [], 'zero client errors');
});

t.test('log.access, retry.budget and limits.bufferedBytes are live: the access log stops, the budgets take their new bounds', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const text = (access: boolean, floor: number, buffered = 134217728): string =>
    configText([{ name: 'a', url: a.url }], [`retry: { budget: { minRetriesPerSec: ${floor}, percent: 0 } }`, `limits: { bufferedBytes: ${buffered} }`]).replace('access: false', `access: ${access}`);
  const { gw, write, logs } = await startFromFile(t, text(true, 10));
  const chat = async (): Promise<void> => {
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: CHAT, headers: { 'content-type': 'application/json' } });
    t.equal(res.statusCode, 200);
    await res.body.dump();
  };
  const accessLines = (): number => logs.filter((l) => l.includes('"event":"http.access"')).length;
  const balance = async (): Promise<number> => ((await (await request(`${gw.admin?.url}/admin/state`)).body.json()) as { retryBudget: number }).retryBudget;
  await chat();
  t.equal(accessLines(), 1, 'one access line per request');
  t.equal(await balance(), 100, 'a floor of 10/s over 10 s');
  const big = JSON.stringify({ model: 'm', max_tokens: 2, messages: [{ role: 'user', content: 'x'.repeat(4096) }] });
  const sendBig = async (): Promise<{ status: number; code: unknown }> => {
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } });
    await res.body.dump();
    return { status: res.statusCode, code: res.headers['x-regiongate-error'] };
  };
  t.equal((await sendBig()).status, 200, 'a 4 KiB body fits the 128 MiB buffer');
  write(text(false, 2, 2048));
  const answer = await reloadOverAdmin(gw);
  t.equal(answer.status, 200);
  t.same(answer.body.notLive, [], 'all three are applied, none named for a restart');
  await chat();
  t.equal(accessLines(), 2, 'no access line after the reload');
  t.equal(await balance(), 20, 'the new floor');
  t.same(await sendBig(), { status: 503, code: 'RG_ERR_BUFFER_FULL' }, 'the 4 KiB body no longer fits the new 2 KiB buffer');
});

t.test('health tunables and load scoring are live; probes on/off, the probe path, the breakers and staleAfter are named for a restart', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const { gw } = await startFromFile(t, configText([{ name: 'a', url: a.url }]));
  const h = gw.config.health;
  const ls = gw.config.routing.loadSignals;
  const answer = await gw.reload({
    ...gw.config,
    health: { ...h, interval: 5000, path: '/ready', outlier: { ...h.outlier, consecutive5xx: 1 }, breaker: { ...h.breaker, resetTimeout: 1000 } },
    routing: { ...gw.config.routing, loadSignals: { ...ls, queueSaturation: 9, staleAfter: 5000 } },
  });
  t.same([...answer.notLive].sort(), ['health.breaker.resetTimeout', 'health.path', 'routing.loadSignals.staleAfter'], 'load scoring is live, the scrapers\' staleness is not');
  t.equal(gw.health.options.interval, 5000, 'the probe interval applied');
  t.equal(gw.health.options.outlier.consecutive5xx, 1, 'the outlier threshold applied');
  t.equal(gw.health.options.path, '/health', 'the probe path kept until a restart');
  t.equal(gw.health.options.breaker.resetTimeout, h.breaker.resetTimeout, 'the breakers kept');
});

t.test('a broken config is refused with every problem; the old one keeps serving', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const { gw, file, write, logs } = await startFromFile(t, configText([{ name: 'a', url: a.url }]));
  write(['listen: { port: 99999 }', 'retry: { attempts: many }', 'regions: []', ''].join('\n'));
  let expected: readonly string[] = [];
  try {
    loadConfigFile(file, {});
  } catch (err) {
    if (err instanceof ConfigError) expected = err.issues;
  }
  t.ok(expected.length >= 2, 'the file has several problems');
  const answer = await reloadOverAdmin(gw);
  t.equal(answer.status, 400, 'refused with 400');
  t.same((answer.body.error as { problems: string[] }).problems, expected, 'the same list check-config prints');
  t.equal(answer.body.reloaded, false);
  const refused = logs.find((l) => l.includes('"event":"config.reload_refused"'));
  t.ok(refused, 'one log line for the refusal');
  t.same(JSON.parse(refused ?? '{}').problems, expected, 'the log line lists every problem');
  t.equal(gw.config.retry.attempts !== 0, true);
  t.ok(gw.registry.endpoint('a-0'), 'the old endpoints stay');
  const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: CHAT, headers: { 'content-type': 'application/json' } });
  t.equal(res.statusCode, 200, 'the old config keeps serving');
  await res.body.dump();
});

t.test('a changed endpoint (same id, new URL) is replaced: new pool, fresh probation, fleet drains still apply', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const a2 = await startSim(t, { name: 'a2' });
  const b = await startSim(t, { name: 'b' });
  const b2 = await startSim(t, { name: 'b2' });
  const { gw, write } = await startFromFile(t, configText([{ name: 'a', url: a.url }, { name: 'b', url: b.url }]));
  const old = gw.registry.endpoint('a-0');
  const drain = await request(`${gw.admin?.url}/admin/endpoints/b-0/drain?force=true`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.equal(drain.statusCode, 200, 'b drained');
  await drain.body.dump();
  write(configText([{ name: 'a', url: a2.url }, { name: 'b', url: b2.url }]));
  const result = await gw.reload();
  t.same(result.changed, ['a-0', 'b-0'], 'named as changed');
  t.not(gw.registry.endpoint('a-0'), old, 'a new endpoint object');
  const state = (id: string) => gw.health.snapshot().find((s) => s.id === id)?.state;
  t.equal(state('a-0'), 'probation', 'in probation again');
  t.equal(state('b-0'), 'drained', 'the fleet drain of b applies to its replacement');
  const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: CHAT, headers: { 'content-type': 'application/json' } });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-sim-region'], 'a2', 'requests go to the new URL');
  await res.body.dump();
});

t.test('reload hooks run after an applied reload, not after a refused one', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const { gw, write } = await startFromFile(t, configText([{ name: 'a', url: a.url }]));
  const seen: number[] = [];
  gw.onReload((cfg) => void seen.push(cfg.retry.attempts));
  write(configText([{ name: 'a', url: a.url }], ['retry: { attempts: 3 }', 'log: { level: warn, access: false }']).replace('log: { level: info, access: false }\n', ''));
  const r = await gw.reload();
  t.same(r.notLive, [], 'log.level and retry.attempts are live');
  write('regions: [');
  await t.rejects(gw.reload(), ConfigError);
  t.same(seen, [3], 'the hook ran once, with the new config');
});
