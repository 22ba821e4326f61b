/**
 * `--workers N`: several processes on one port sharing health through the primary. One worker's
 * ejection reaches the others, and SIGTERM drains every worker and exits 0.
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
  const [, url, admin] = urls[0];

  // Until one worker meets the dead region and ejects it (its client still gets a 200 from b).
  for (let i = 0; i < 10; i++) {
    const res = await request(`${url}/v1/chat/completions`, { method: 'POST', body: '{"model":"m"}', headers: { 'content-type': 'application/json' }, reset: true });
    t.equal(res.statusCode, 200);
    await res.body.dump();
    if (res.headers['x-regiongate-attempts'] === '2') break;
  }
  // Every worker (seen through the shared admin port, a new connection each time) knows a-0 is out.
  const seen = new Map<string, string>();
  await waitUntil(
    'both workers report a-0 ejected',
    async () => {
      const res = await request(`${admin}/admin/state`, { reset: true });
      const s = (await res.body.json()) as AdminState;
      seen.set(s.gatewayId, s.endpoints.find((e) => e.id === 'a-0')?.state ?? '?');
      return seen.size >= 2 && [...seen.values()].every((v) => v === 'ejected');
    },
    10_000,
    10,
  );
  t.same([...seen.values()], ['ejected', 'ejected'], `workers ${[...seen.keys()].join(', ')}`);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM drains the workers and exits 0');
});
