/**
 * `--workers N`: several processes on one port sharing health through the primary. One worker's
 * ejection reaches the others; the primary's admin port shows every worker's metrics in one scrape and
 * relays actions; SIGTERM drains every worker and exits 0. The CLI runs from the build (`dist/cli.js`);
 * every wait is for its output, its exit, or a state seen through the admin port.
 */
import t from 'tap';
import { request } from 'undici';
import { exitOf, Output, spawnCli, writeConfig } from './helpers/built.js';
import { refusedUrl, startSim } from './helpers/gateway.js';
import { until, within } from './helpers/wait.js';

interface AdminState {
  gatewayId: string;
  endpoints: { id: string; state: string }[];
}

/** `name{worker="…",…} value` samples of one metric, as [labels text, value]. */
function samples(text: string, name: string): [string, number][] {
  return [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => [m[1], Number(m[2])]);
}

t.test('two workers share one port and their health', async (t) => {
  const good = await startSim(t, { name: 'b' });
  const file = writeConfig(t, [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { host: 127.0.0.1, port: 0 }',
    'log: { level: warn }',
    'health: { probes: false }',
    'regions:',
    `  - { name: a, endpoints: [{ url: "${await refusedUrl()}" }] }`,
    `  - { name: b, endpoints: [{ url: "${good.url}" }] }`,
  ]);
  const child = spawnCli(t, ['start', '--config', file, '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err = new Output(child, 'stderr');
  const exited = exitOf(child);
  await err.match('two workers listening', /listening on [^\n]*\n/g, 2);
  await err.match('the primary\'s admin port', /2 workers, admin on \S+\n/);
  const stderr = err.text;
  const urls = [...stderr.matchAll(/listening on (http:\/\/[^,\s]+), admin on (http:\/\/[^\s",]+)/g)];
  t.equal(new Set(urls.map((m) => m[1])).size, 1, 'both workers serve the same port');
  t.equal(new Set(urls.map((m) => m[2])).size, 2, 'each worker has a private admin listener');
  const url = urls[0][1];
  const admin = /2 workers, admin on (http:\/\/[^\s",]+)/.exec(stderr)?.[1] ?? '';
  t.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/, 'the primary serves the admin port');
  t.notOk(urls.some((m) => m[2] === admin), 'apart from the workers\' own');
  const scrape = async (): Promise<string> => {
    const res = await request(`${admin}/metrics`, { reset: true });
    return res.body.text();
  };
  await until('both workers behind the admin port', async () => new Set(samples(await scrape(), 'regiongate_inflight_requests').map(([l]) => l)).size === 2);

  // Until one worker meets the dead region and ejects it (its client still gets a 200 from b).
  for (let i = 0; i < 10; i++) {
    const res = await request(`${url}/v1/chat/completions`, { method: 'POST', body: '{"model":"m"}', headers: { 'content-type': 'application/json' }, reset: true });
    t.equal(res.statusCode, 200);
    await res.body.dump();
    if (res.headers['x-regiongate-attempts'] === '2') break;
  }
  // Every worker knows a-0 is out: one scrape of the primary's admin port shows both.
  const ejected = (text: string): string[] =>
    samples(text, 'regiongate_endpoint_state')
      .filter(([l, v]) => v === 1 && l.includes('endpoint="a-0"') && l.includes('state="ejected"'))
      .map(([l]) => /worker="([^"]+)"/.exec(l)?.[1] ?? '?');
  await until('both workers report a-0 ejected', async () => ejected(await scrape()).length === 2);
  const text = await scrape();
  t.equal(new Set(ejected(text)).size, 2, `workers ${ejected(text).join(', ')} both report a-0 ejected`);
  t.equal((text.match(/^# TYPE regiongate_requests_total counter$/gm) ?? []).length, 1, 'one TYPE line per metric family');

  // Counters of both workers add up to every request, whichever worker served it.
  const before = samples(await scrape(), 'regiongate_requests_total').reduce((n, [, v]) => n + v, 0);
  for (let i = 0; i < 20; i++) {
    const res = await request(`${url}/v1/chat/completions`, { method: 'POST', body: '{"model":"m"}', headers: { 'content-type': 'application/json' }, reset: true });
    await res.body.dump();
  }
  const after = samples(await scrape(), 'regiongate_requests_total').reduce((n, [, v]) => n + v, 0);
  t.equal(after - before, 20, 'the merged counters count all 20 requests');

  // Everything else is relayed to one worker; an action reaches every worker as a fleet event.
  const state = await request(`${admin}/admin/state`);
  t.equal(state.statusCode, 200);
  const s = (await state.body.json()) as AdminState;
  t.equal(state.headers['x-regiongate-worker'], s.gatewayId, 'relayed to the worker that answered');
  // Forced: the other endpoint may be ejected at this moment, and a drain that strands a model is refused.
  const drain = await request(`${admin}/admin/endpoints/b-0/drain?force=true`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.same(await drain.body.json(), { action: 'drain', endpoints: ['b-0'] });
  const drained = (text: string): number =>
    samples(text, 'regiongate_endpoint_state').filter(([l, v]) => v === 1 && l.includes('endpoint="b-0"') && l.includes('state="drained"')).length;
  await until('both workers to apply the drain', async () => drained(await scrape()) === 2);
  t.pass('a drain through the primary reaches both workers');

  // A request body reaches the worker (it was dropped: a drill record posted through the primary was
  // read as an empty body, and a drain's JSON options were lost); an oversized one is refused here.
  const record = { id: 'drill-b-1', region: 'b', startedAt: 1, status: 'running' };
  const kept = await request(`${admin}/admin/drills`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) });
  t.same(await kept.body.json(), { kept: 'drill-b-1' }, 'a drill record posted through the primary is kept');
  const listed = await request(`${admin}/admin/drills`);
  t.same(((await listed.body.json()) as { drills: unknown[] }).drills, [record]);
  const big = await request(`${admin}/admin/drills`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(70_000) });
  t.equal(big.statusCode, 413, 'a body over 64 KiB is refused by the primary');
  await big.body.dump();

  child.kill('SIGTERM');
  t.same(await within('the primary to exit after SIGTERM', exited), { code: 0, signal: null }, 'SIGTERM drains the workers and exits 0');
});

t.test('--workers 2 on the memory store: the fleet view shows both workers, and one worker runs a scheduled drill', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const file = writeConfig(t, [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { host: 127.0.0.1, port: 0 }',
    'log: { level: info, access: false }',
    'health: { probes: false }',
    'state: { summaryInterval: 200ms }',
    // A fresh 24 h period whose window is the whole day: due at the first look of each worker.
    'drills: { checkInterval: 200ms, schedule: [{ region: a, cadence: 24h, duration: 2s }] }',
    'regions:',
    `  - { name: a, endpoints: [{ url: "${a.url}", models: [m] }] }`,
    `  - { name: b, endpoints: [{ url: "${b.url}", models: [m] }] }`,
  ]);
  const child = spawnCli(t, ['start', '--config', file, '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err = new Output(child, 'stderr');
  const exited = exitOf(child);
  await err.match('the primary\'s admin port', /2 workers, admin on \S+\n/);
  const admin = /2 workers, admin on (http:\/\/[^\s",]+)/.exec(err.text)?.[1] ?? '';
  const get = async (path: string): Promise<unknown> => (await request(`${admin}${path}`, { reset: true })).body.json();

  // Summaries were private to each worker: the primary relayed the question to one, which saw only itself.
  // (Until both workers have told the primary their admin listener, it may answer 503: no gateways yet.)
  await until('both workers in the fleet view', async () => ((await get('/admin/fleet')) as { gateways?: unknown[] }).gateways?.length === 2);
  const view = (await get('/admin/fleet')) as { stale: boolean; gateways: { gatewayId: string; self: boolean }[] };
  t.same(view.gateways.map((g) => g.gatewayId.replace(/^.*-(w\d+)$/, '$1')).sort(), ['w1', 'w2']);
  t.equal(view.stale, false);
  t.equal(view.gateways.filter((g) => g.self).length, 1, 'the worker that answered marks itself');

  type Listed = { drills: { status: string; origin?: string; report?: { gateways: unknown[] } }[] };
  let listed: Listed = { drills: [] };
  await until('the scheduled drill to end', async () => (listed = (await get('/admin/drills')) as Listed).drills.some((d) => d.status !== 'running'));
  t.equal(listed.drills.length, 1, 'one drill record, whichever worker is asked');
  t.match(listed.drills[0], { origin: 'schedule', status: 'pass' });
  t.equal(listed.drills[0]?.report?.gateways.length, 2, 'the drill watched both workers');
  // Both workers kept looking at the schedule (every 200 ms) while the drill ran; only one ran it.
  t.equal(err.text.match(/"event":"drill\.scheduled"/g)?.length, 1, 'exactly one worker claimed the period');

  child.kill('SIGTERM');
  t.same(await within('the primary to exit after SIGTERM', exited), { code: 0, signal: null });
});
