// Reload triggers of the built CLI (`dist/cli.js`): SIGHUP in one process, the file watcher turned on
// by a reload (`watch: true`) catching a rename-replace, and with `--workers 2` a SIGHUP to the primary
// and a `POST /admin/reload` on its admin port reaching both workers (a broken file refused once, by the
// primary, with its problems). Every wait is for the processes' JSON log lines or an answer.
import { renameSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { request } from 'undici';
import { exitOf, Output, spawnCli, writeConfig } from './helpers/built.js';
import { startSim } from './helpers/gateway.js';
import { within } from './helpers/wait.js';

const TOKEN = 'c0ffee'.repeat(8);
const AUTH = { authorization: `Bearer ${TOKEN}` };

const config = (regions: readonly { name: string; url: string }[], extra: readonly string[] = []): string[] => [
  'listen: { host: 127.0.0.1, port: 0 }',
  `admin: { host: 127.0.0.1, port: 0, token: "${TOKEN}" }`,
  'log: { level: info, access: false }',
  'health: { probes: false }',
  ...extra,
  'regions:',
  ...regions.map((r) => `  - { name: ${r.name}, endpoints: [{ url: "${r.url}" }] }`),
];

/** A worker's (or the single process's) `config.reloaded` line: its gateway id and what was added. */
const RELOADED = /"event":"config\.reloaded","gatewayId":"([^"]+)","worker":\d+,"reloaded":true,"added":(\[[^\]]*\]),"removed":(\[[^\]]*\])/g;

t.test('one process: SIGHUP reloads; a reload that sets watch: true starts the watcher, which sees a rename-replace', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const file = writeConfig(t, config([{ name: 'a', url: a.url }]));
  const child = spawnCli(t, ['start', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err = new Output(child, 'stderr');
  const exited = exitOf(child);
  await err.match('listening', /"event":"process\.listening"/);

  writeFileSync(file, `${config([{ name: 'a', url: a.url }, { name: 'b', url: b.url }], ['watch: true']).join('\n')}\n`);
  child.kill('SIGHUP');
  const [first] = await err.match('the reload after SIGHUP', RELOADED);
  t.same([JSON.parse(first[2]), JSON.parse(first[3])], [['b-0'], []], 'SIGHUP: b added');

  // An editor's save: a new file renamed over the old one.
  const tmp = `${file}.swp`;
  writeFileSync(tmp, `${config([{ name: 'b', url: b.url }], ['watch: true']).join('\n')}\n`);
  renameSync(tmp, file);
  const lines = await err.match('the reload the watcher starts', RELOADED, 2);
  t.same([JSON.parse(lines[1][2]), JSON.parse(lines[1][3])], [[], ['a-0']], 'the watcher: a removed');

  child.kill('SIGTERM');
  t.same(await within('exit after SIGTERM', exited), { code: 0, signal: null }, 'still shuts down cleanly');
});

t.test('--workers 2: SIGHUP and POST /admin/reload reach both workers; a broken file is refused by the primary', async (t) => {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const c = await startSim(t, { name: 'c' });
  const file = writeConfig(t, config([{ name: 'a', url: a.url }]));
  const child = spawnCli(t, ['start', '--config', file, '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err = new Output(child, 'stderr');
  const exited = exitOf(child);
  await err.match('two workers listening', /"event":"process\.listening"/g, 2);
  const [m] = await err.match('the primary\'s admin port', /2 workers, admin on (http:\/\/[^\s",]+)/);
  const admin = m[1];

  writeFileSync(file, `${config([{ name: 'a', url: a.url }, { name: 'b', url: b.url }]).join('\n')}\n`);
  child.kill('SIGHUP');
  const afterHup = await err.match('both workers reloaded after SIGHUP', RELOADED, 2);
  t.equal(new Set(afterHup.map((x) => x[1])).size, 2, `two workers reloaded (${afterHup.map((x) => x[1]).join(', ')})`);
  t.ok(afterHup.every((x) => x[2] === '["b-0"]'), 'each added b');

  writeFileSync(file, `${config([{ name: 'a', url: a.url }, { name: 'c', url: c.url }], ['listen: { host: 127.0.0.1, port: 0, backlog: 100 }']).join('\n').replace('listen: { host: 127.0.0.1, port: 0 }\n', '')}\n`);
  const anonymous = await request(`${admin}/admin/reload`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.equal(anonymous.statusCode, 401, 'the primary asks for the admin token');
  await anonymous.body.dump();
  const res = await request(`${admin}/admin/reload`, { method: 'POST', headers: AUTH });
  const body = (await res.body.json()) as { reloaded: boolean; added: string[]; removed: string[]; notLive: string[]; workers: { gatewayId: string; reloaded: boolean }[] };
  t.equal(res.statusCode, 200, 'POST /admin/reload through the primary: 200');
  t.same([body.reloaded, body.added, body.removed, body.notLive], [true, ['c-0'], ['b-0'], ['listen.backlog']], 'what changed, and what needs a restart');
  t.equal(body.workers.length, 2, 'both workers answered');
  t.ok(body.workers.every((w) => w.reloaded), 'both reloaded');
  t.equal(new Set(body.workers.map((w) => w.gatewayId)).size, 2, 'two different workers');

  writeFileSync(file, 'regions: [{ name: x }]\nlisten: { port: -1 }\n');
  const bad = await request(`${admin}/admin/reload`, { method: 'POST', headers: AUTH });
  const refused = (await bad.body.json()) as { reloaded: boolean; error: { problems: string[] } };
  t.equal(bad.statusCode, 400, 'a broken file: 400');
  t.ok(refused.error.problems.some((p) => p.startsWith('listen.port:')), 'naming each problem');
  t.equal(err.text.match(RELOADED)?.length, 4, 'no worker reloaded the broken file');
  t.equal(err.text.match(/"event":"config\.reload_refused"/g)?.length, 1, 'the primary logs the refusal once');

  child.kill('SIGTERM');
  t.same(await within('the primary to exit after SIGTERM', exited), { code: 0, signal: null }, 'SIGTERM still drains and exits 0');
});
