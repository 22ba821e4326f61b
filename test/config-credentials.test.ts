/**
 * Placeholders never run silently (issue 9): an admin token that is a placeholder or short is a config
 * error naming `admin.token`; an admin listener off loopback without a token refuses to start; endpoint
 * credentials that look like placeholders are named in a loud warning by `check-config` and at start.
 * No message prints a secret's value. The CLI cases spawn the built `dist/cli.js`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { configWarnings, isPlaceholderSecret, resolveConfig } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const REGIONS = [{ name: 'a', endpoints: [{ url: 'http://127.0.0.1:9' }] }];

function issues(doc: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    resolveConfig({ regions: REGIONS, ...doc }, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
}

t.test('a placeholder admin token is a config error naming admin.token, never its value', async (t) => {
  const placeholders = ['change-me', 'changeme', 'CHANGE_ME', 'sk-example', 'example', 'secret', 'password', 'token', 'your-api-key', '<ADMIN_TOKEN>', 'xxxxxxxxxxxxxxxxxxxx', 'change-me-please-0123456789'];
  for (const token of placeholders) {
    const found = issues({ admin: { token } });
    t.equal(found.length, 1, `${token} is refused`);
    t.match(found[0], /^admin\.token: is a placeholder/);
    t.notOk(found[0].slice('admin.token: '.length).toLowerCase().includes(token.toLowerCase()), 'the message does not print the value');
  }
  t.match(issues({ admin: { token: '${T:-change-me}' } }), [/^admin\.token: is a placeholder/], 'also when it comes from a ${VAR:-default}');
});

t.test('an admin token shorter than 16 characters is a config error', async (t) => {
  t.same(issues({ admin: { token: 'aB3$dEf9qW' } }), ['admin.token: must be at least 16 characters (e.g. `openssl rand -hex 32`)']);
  t.same(issues({ admin: { token: 'Zq8v3Lr0pW2mX7nK' } }), [], 'a 16-character random token is accepted');
});

t.test('an admin listener off loopback without a token refuses to start', async (t) => {
  for (const host of ['0.0.0.0', '::', '10.0.0.5', 'admin.internal'])
    t.match(issues({ admin: { host } }), [new RegExp(`^admin\\.token: is required when admin\\.host \\("${host.replace(/\./g, '\\.')}"\\) is not a loopback address`)], host);
  for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) t.same(issues({ admin: { host } }), [], `${host} is loopback: no token needed`);
  t.same(issues({ admin: { host: '0.0.0.0', enabled: false } }), [], 'a disabled admin listener needs none');
  t.same(issues({ admin: { host: '0.0.0.0', token: 'Zq8v3Lr0pW2mX7nK' } }), [], 'with a token it may listen anywhere');
});

t.test('endpoint credentials that look like placeholders are warned about by key path', async (t) => {
  const cfg = resolveConfig(
    {
      regions: [
        {
          name: 'a',
          endpoints: [
            { url: 'http://x', headers: { authorization: 'Bearer sk-example', 'x-env': 'test' } },
            { url: 'http://y', headers: { authorization: 'Bearer sk-live-4f9a2c', 'x-api-key': 'changeme' } },
            { url: 'http://z', headers: { Authorization: 'Bearer ' } },
          ],
        },
      ],
    },
    {},
  );
  const warnings = configWarnings(cfg);
  t.same(
    warnings.map((w) => w.slice(0, w.indexOf(':'))),
    ['regions[0].endpoints[0].headers.authorization', 'regions[0].endpoints[1].headers.x-api-key', 'regions[0].endpoints[2].headers.Authorization'],
  );
  t.notOk(warnings.some((w) => w.includes('sk-example') || w.includes('changeme')), 'no warning prints the value');
  t.notOk(isPlaceholderSecret('Bearer sk-proj-Jq3v9L0xW2mZ'), 'a real-looking key is not a placeholder');
});

/** Run `dist/cli.js ...args` to completion (killed after 30 s); the config is written to a temp file. */
function runCli(tt: { teardown(fn: () => unknown): void }, yaml: string[], command: string[], until?: RegExp) {
  const dir = mkdtempSync(join(tmpdir(), 'rg-cred-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml.join('\n'));
  const child = spawn(process.execPath, [CLI, ...command, file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  tt.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (until?.test(stderr)) child.kill('SIGTERM');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

const BASE = ['listen: { host: 127.0.0.1, port: 0 }', 'log: { level: warn }', 'health: { probes: false }'];

t.test('check-config and start warn loudly about a placeholder endpoint credential; start refuses a tokenless public admin', async (t) => {
  if (!existsSync(CLI)) return void t.fail(`${CLI} is missing: run npm run build first`);
  const placeholder = [...BASE, 'admin: { host: 127.0.0.1, port: 0 }', 'regions:', '  - { name: a, endpoints: [{ url: "http://127.0.0.1:9", headers: { authorization: "Bearer sk-example" } }] }'];
  const check = await runCli(t, placeholder, ['check-config']);
  t.equal(check.code, 0, 'a warning, not an error');
  t.match(check.stderr, /WARNING: regions\[0\]\.endpoints\[0\]\.headers\.authorization: looks like a placeholder/);
  t.notOk(check.stderr.includes('sk-example') || check.stdout.includes('sk-example'), 'the value is printed nowhere');

  const start = await runCli(t, placeholder, ['start', '--config'], /listening on/);
  t.match(start.stderr, /WARNING: regions\[0\]\.endpoints\[0\]\.headers\.authorization: looks like a placeholder/, 'start warns too');
  t.match(start.stderr, /listening on/, 'and runs');

  const open = await runCli(t, [...BASE, 'admin: { host: 0.0.0.0, port: 0 }', 'regions:', '  - { name: a, endpoints: [{ url: "http://127.0.0.1:9" }] }'], ['start', '--config']);
  t.equal(open.code, 2, 'a config error');
  // `start` says it in one JSON line, like every line of a gateway on stderr.
  const lines = open.stderr.trim().split('\n');
  t.equal(lines.length, 1, 'one line');
  t.match(JSON.parse(lines[0]) as unknown, {
    level: 'error',
    event: 'config.invalid',
    msg: /^regiongate: invalid config .*config\.yaml: admin\.token: is required/,
    problems: [/^admin\.token: is required when admin\.host \("0\.0\.0\.0"\) is not a loopback address/],
  });
  t.notMatch(open.stderr, /listening on/, 'nothing was started');

  const changeMe = await runCli(t, [...BASE, 'admin: { token: change-me }', 'regions:', '  - { name: a, endpoints: [{ url: "http://127.0.0.1:9" }] }'], ['check-config']);
  t.equal(changeMe.code, 2);
  t.match(changeMe.stderr, /admin\.token: is a placeholder/);
});

t.test('a malformed %-escape in the Redis URL credentials is a config error, not a crash at start', async (t) => {
  t.same(issues({ state: { store: 'redis', redis: { url: 'redis://:%ZZ@127.0.0.1:6379' } } }), [
    'state.redis.url: must be a valid URL (a "%" in the password is written %25)',
  ]);
  t.same(issues({ state: { store: 'redis', redis: { url: 'redis://:p%25w@127.0.0.1:6379' } } }), [], 'an escaped % is fine');
});
