/**
 * `--workers N`: several processes on one port sharing health through the primary. One worker's
 * ejection reaches the others; the primary's admin port shows every worker's metrics in one scrape and
 * relays actions; SIGTERM drains every worker and exits 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { request } from 'undici';
import { refusedUrl, startSim } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

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
  const dir = mkdtempSync(join(tmpdir(), 'rg-cluster-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      'log: { level: warn }',
      'health: { probes: false }',
      'regions:',
      `  - { name: a, endpoints: [{ url: "${await refusedUrl()}" }] }`,
      `  - { name: b, endpoints: [{ url: "${good.url}" }] }`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [...process.execArgv, join(ROOT, 'src/cli.ts'), 'start', '--config', file, '--workers', '2'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitUntil('two workers listening', () => (stderr.match(/listening on/g) ?? []).length >= 2, 20_000);
  const urls = [...stderr.matchAll(/listening on (http:\/\/[^,\s]+), admin on (http:\/\/\S+)/g)];
  t.equal(new Set(urls.map((m) => m[1])).size, 1, 'both workers serve the same port');
  t.equal(new Set(urls.map((m) => m[2])).size, 2, 'each worker has a private admin listener');
  const url = urls[0][1];
  const admin = /2 workers, admin on (http:\/\/\S+)/.exec(stderr)?.[1] ?? '';
  t.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/, 'the primary serves the admin port');
  t.notOk(urls.some((m) => m[2] === admin), 'apart from the workers\' own');
  const scrape = async (): Promise<string> => {
    const res = await request(`${admin}/metrics`, { reset: true });
    return res.body.text();
  };
  await waitUntil('both workers behind the admin port', async () => new Set(samples(await scrape(), 'regiongate_inflight_requests').map(([l]) => l)).size === 2, 10_000);

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
  await waitUntil('both workers report a-0 ejected', async () => ejected(await scrape()).length === 2, 10_000, 10);
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
  const drain = await request(`${admin}/admin/endpoints/b-0/drain`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.same(await drain.body.json(), { action: 'drain', endpoints: ['b-0'] });
  const drained = (text: string): number =>
    samples(text, 'regiongate_endpoint_state').filter(([l, v]) => v === 1 && l.includes('endpoint="b-0"') && l.includes('state="drained"')).length;
  await waitUntil('both workers to apply the drain', async () => drained(await scrape()) === 2, 5000, 10);
  t.pass('a drain through the primary reaches both workers');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM drains the workers and exits 0');
});
