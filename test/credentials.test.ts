// Credentials that refresh: a token file rotated while the gateway runs, a token command that rotates,
// a failing command that keeps its token until expiry and then takes the endpoint down, and a credential
// that never reaches another endpoint, a log line, an error body or check-config output. Real sockets and
// real child processes; the credential manager runs on a FakeClock, and each refresh the clock starts is
// joined through `keeper().refresh()` (no sleeps).
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { maskSecrets, resolveConfig } from '../src/config/index.js';
import type { GatewayConfigInput } from '../src/config/index.js';
import { createGateway, type RunningGateway } from '../src/create-gateway.js';
import { parseTokenOutput, TokenFormatError } from '../src/credentials/token-output.js';
import { createLogger } from '../src/telemetry/logger.js';
import { systemClock, type Clock } from '../src/util/clock.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { MemoryBus } from '../src/state/memory-store.js';
import { startUpstream } from './helpers/gateway.js';
import { until, within } from './helpers/wait.js';
import { exitOf, Output, spawnCli } from './helpers/built.js';

interface Tap {
  teardown(fn: () => unknown): void;
}

function tempDir(tt: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'regiongate-cred-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An upstream that answers 200 and records the authorization header of every request (probes apart). */
async function recordingUpstream(tt: Tap): Promise<{ url: string; seen: (string | undefined)[]; probes: (string | undefined)[] }> {
  const seen: (string | undefined)[] = [];
  const probes: (string | undefined)[] = [];
  const { url } = await startUpstream(tt, (req, res) => {
    (req.url?.endsWith('/health') ? probes : seen).push(req.headers.authorization);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  return { url, seen, probes };
}

/** A gateway whose credential manager runs on `clock` (probes off: a fake clock cannot time real HTTP probes). */
async function startWith(tt: Tap, regions: GatewayConfigInput['regions'], clock: Clock, lines: string[] = [], probes = false): Promise<RunningGateway> {
  const config = resolveConfig(
    { listen: { host: '127.0.0.1', port: 0 }, admin: { enabled: false }, log: { level: 'debug' }, health: { probes, interval: 100 }, routing: { modelDiscovery: { interval: 0 } }, regions },
    {},
  );
  const gw = createGateway(config, { clock, logger: createLogger('debug', (l) => void lines.push(l)) });
  await gw.listen();
  tt.teardown(() => gw.close(0, 0));
  return gw;
}

async function post(gw: RunningGateway, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'm', messages: [] }),
  });
  return { status: res.statusCode, body: await res.body.text() };
}

/** A token command: prints the next token of a counter kept in `state.json`, as the state says. */
const TOKEN_SCRIPT = `
import { readFileSync, writeFileSync } from 'node:fs';
const file = new URL('./state.json', import.meta.url);
const s = JSON.parse(readFileSync(file, 'utf8'));
if (s.mode === 'fail') { process.stderr.write('token service unreachable'); process.exit(3); }
s.n += 1;
writeFileSync(file, JSON.stringify(s));
const token = 'cmdtok' + s.n + 'x7Q';
if (s.mode === 'json') process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token, expirationTimestamp: new Date(s.expiresAt).toISOString() } }));
else process.stdout.write(token + '\\n');
`;

function tokenCommand(tt: Tap, state: { n: number; mode: string; expiresAt?: number }): { argv: string[]; set: (s: Partial<typeof state>) => void } {
  const dir = tempDir(tt);
  writeFileSync(join(dir, 'token.mjs'), TOKEN_SCRIPT);
  const file = join(dir, 'state.json');
  writeFileSync(file, JSON.stringify(state));
  return {
    argv: [process.execPath, join(dir, 'token.mjs')],
    set: (s) => writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...s })),
  };
}

t.test('parseTokenOutput reads exec-credential JSON, az JSON, plain text and a JWT exp, and never echoes a bad token', async (t) => {
  const at = '2030-01-02T03:04:05Z';
  t.same(parseTokenOutput(JSON.stringify({ status: { token: 'abc', expirationTimestamp: at } })), { token: 'abc', expiresAt: Date.parse(at) });
  t.same(parseTokenOutput(JSON.stringify({ accessToken: 'az1', expires_on: 1900000000 })), { token: 'az1', expiresAt: 1900000000_000 });
  t.same(parseTokenOutput('ya29.plain\n'), { token: 'ya29.plain', expiresAt: undefined });
  const jwt = `h.${Buffer.from(JSON.stringify({ exp: 1900000123 })).toString('base64url')}.s`;
  t.same(parseTokenOutput(jwt), { token: jwt, expiresAt: 1900000123_000 });
  for (const bad of ['', 'two words-secretXYZ', '{"status":{}}', '{not json secretXYZ', JSON.stringify({ status: { token: 'secretXYZ', expirationTimestamp: 'soon' } })]) {
    const err = t.throws(() => parseTokenOutput(bad)) as Error;
    t.type(err, TokenFormatError);
    t.notMatch(err.message, /secretXYZ/, 'the message never holds the output');
  }
});

t.test('a token file rotated while the gateway runs: the next request carries the new token', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'token');
  writeFileSync(path, 'file-token-one\n');
  const up = await recordingUpstream(t);
  const clock = new FakeClock();
  const gw = await startWith(t, [{ name: 'a', endpoints: [{ id: 'a', url: up.url, credentials: { file: { path, pollInterval: '5s' } } }] }], clock);
  t.equal((await post(gw, { authorization: 'Bearer client-own' })).status, 200);
  t.equal(up.seen[0], 'Bearer file-token-one', "the file's token replaces the client's");
  writeFileSync(path, 'file-token-two-rotated\n');
  utimesSync(path, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000)); // a new mtime even on a coarse filesystem
  clock.tick(5000);
  await gw.credentials.keeper('a')?.refresh();
  t.equal((await post(gw)).status, 200);
  t.equal(up.seen[1], 'Bearer file-token-two-rotated');
});

t.test('a token command that rotates: refreshed ahead of expiry on the clock, the next request carries the new token', async (t) => {
  const up = await recordingUpstream(t);
  const clock = new FakeClock();
  const cmd = tokenCommand(t, { n: 0, mode: 'json', expiresAt: clock.now() + 600_000 });
  const gw = await startWith(t, [{ name: 'a', endpoints: [{ id: 'a', url: up.url, credentials: { command: { argv: cmd.argv, refreshBefore: '2m' } } }] }], clock);
  t.equal((await post(gw)).status, 200);
  t.equal(up.seen[0], 'Bearer cmdtok1x7Q');
  t.equal(gw.credentials.keeper('a')?.expiresAt, clock.now() + 600_000, 'expiry from expirationTimestamp');
  cmd.set({ expiresAt: clock.now() + 1_200_000 });
  clock.tick(7 * 60_000); // not yet refreshBefore the expiry
  t.equal((await post(gw)).status, 200);
  t.equal(up.seen[1], 'Bearer cmdtok1x7Q', 'no refresh before its time, none on the request path');
  clock.tick(60_000); // 8 minutes: 2 minutes before expiry
  await gw.credentials.keeper('a')?.refresh();
  t.equal((await post(gw)).status, 200);
  t.equal(up.seen[2], 'Bearer cmdtok2x7Q');
});

t.test('a failing token command keeps the old token until it expires, then the endpoint goes down with credentials_expired and comes back on the next good token', async (t) => {
  const up = await recordingUpstream(t);
  const clock = new FakeClock();
  const lines: string[] = [];
  const cmd = tokenCommand(t, { n: 0, mode: 'plain' });
  const gw = await startWith(
    t,
    [{ name: 'a', endpoints: [{ id: 'a', url: up.url, credentials: { command: { argv: cmd.argv, scheme: '', header: 'api-key', lifetime: '10m', refreshBefore: '3m', retryInterval: '1m' } } }] }],
    clock,
    lines,
  );
  const keeper = gw.credentials.keeper('a');
  const ep = gw.registry.endpoint('a');
  if (keeper === undefined || ep === undefined) throw new Error('no keeper');
  t.equal(ep.credential?.value, 'cmdtok1x7Q', 'no scheme: the bare token, in the configured header');
  cmd.set({ mode: 'fail' });
  clock.tick(7 * 60_000); // refresh time: it fails
  await keeper.refresh();
  t.equal((await post(gw)).status, 200, 'the old token is still good');
  t.ok(lines.some((l) => l.includes('credentials.refresh_failed') && l.includes('exited with 3') && l.includes('token service unreachable')), 'the failure is logged with its cause');
  clock.tick(3 * 60_000); // past the expiry, refreshes still failing
  await keeper.refresh();
  t.equal(ep.credential?.value, undefined);
  const snap = gw.health.snapshot().find((s) => s.id === 'a');
  t.equal(snap?.state, 'ejected');
  t.equal(snap?.cause, 'credentials_expired');
  const before = up.seen.length;
  const down = await post(gw);
  t.equal(down.status, 503);
  t.match(down.body, /RG_ERR_CREDENTIALS_EXPIRED|RG_ERR_NO_ENDPOINT/);
  t.equal(up.seen.length, before, 'nothing is sent without a credential');
  t.ok(lines.some((l) => l.includes('credentials.expired') && l.includes('"level":"error"')), 'the expiry is logged');
  cmd.set({ mode: 'plain' });
  clock.tick(60_000);
  await keeper.refresh();
  t.equal(ep.credential?.value, 'cmdtok2x7Q');
  t.not(gw.health.snapshot().find((s) => s.id === 'a')?.state, 'ejected', 'back on the next good token');
  for (const l of [...lines, down.body]) t.notMatch(l, /cmdtok/, 'no token in a log line or an error body');
});

t.test("a credential never reaches another endpoint, and replaces the client's header only at its own endpoint", async (t) => {
  const a = await recordingUpstream(t);
  const b = await recordingUpstream(t);
  const dir = tempDir(t);
  const path = join(dir, 'token');
  writeFileSync(path, 'only-for-a-token');
  const clock = new FakeClock();
  const gw = await startWith(
    t,
    [
      { name: 'a', endpoints: [{ id: 'a', url: a.url, credentials: { file: { path } } }] },
      { name: 'b', endpoints: [{ id: 'b', url: b.url }] },
    ],
    clock,
  );
  for (let i = 0; i < 4; i++) {
    t.equal((await post(gw, { authorization: 'Bearer client-own', 'x-regiongate-regions': 'b' })).status, 200);
    t.equal((await post(gw, { authorization: 'Bearer client-own', 'x-regiongate-regions': 'a' })).status, 200);
  }
  t.same(new Set(b.seen), new Set(['Bearer client-own']), 'b sees only what the client sent');
  t.same(new Set(a.seen), new Set(['Bearer only-for-a-token']));
});

t.test('health probes carry the refreshed credential', async (t) => {
  const up = await recordingUpstream(t);
  const dir = tempDir(t);
  const path = join(dir, 'token');
  writeFileSync(path, 'probe-token-1');
  await startWith(t, [{ name: 'a', endpoints: [{ id: 'a', url: up.url, credentials: { file: { path } } }] }], systemClock, [], true);
  await until('a probe', () => up.probes.length > 0);
  t.equal(up.probes[0], 'Bearer probe-token-1');
});

t.test('check-config output masks credential command arguments (they may hold a secret)', async (t) => {
  const config = resolveConfig(
    { regions: [{ name: 'a', endpoints: [{ url: 'http://127.0.0.1:1', credentials: { command: { argv: ['az', 'account', 'get-access-token', '--password=s3cretValue'] } } }] }] },
    {},
  );
  const out = JSON.stringify(maskSecrets(config));
  t.notMatch(out, /s3cretValue/);
  t.match(out, /"argv":\["az","\*\*\*\*"/);
});

t.test('config: a credential source names its problem', async (t) => {
  const bad = (credentials: unknown): string => {
    try {
      resolveConfig({ regions: [{ name: 'a', endpoints: [{ url: 'http://127.0.0.1:1', credentials } as never] }] }, {});
      return '';
    } catch (err) {
      return String(err);
    }
  };
  t.match(bad({ command: { argv: [] } }), /credentials/);
  t.match(bad({ command: { argv: ['x'], scheme: 'Bearer x' } }), /scheme/);
  t.match(bad({ shell: 'echo hi' }), /credentials/);
  t.match(bad({ command: { argv: ['x'], lifetime: '5m', refreshBefore: '5m' } }), /refreshBefore must be shorter than lifetime/);
});

t.test('regiongate check-config prints no credential command argument and no token', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'gw.yaml');
  writeFileSync(
    file,
    [
      'regions:',
      '  - name: a',
      '    endpoints:',
      '      - url: http://127.0.0.1:1',
      '        credentials:',
      '          command:',
      '            argv: [az, account, get-access-token, "--secret=${RG_CRED_TEST_SECRET}"]',
      '      - url: http://127.0.0.1:2',
      '        credentials:',
      `          file: { path: ${join(dir, 'token')} }`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'token'), 'file-token-never-printed');
  const child = spawnCli(t, ['check-config', file], { env: { ...process.env, RG_CRED_TEST_SECRET: 'argSecretValue42' } });
  const out = new Output(child, 'stdout');
  const err = new Output(child, 'stderr');
  const exit = await within('check-config to exit', exitOf(child));
  t.equal(exit.code, 0, err.text);
  t.match(out.text, /"az"/);
  t.notMatch(out.text + err.text, /argSecretValue42|file-token-never-printed/);
});

t.test("an endpoint down for expired credentials is this gateway's own: peers keep sending to it", async (t) => {
  const a = await recordingUpstream(t);
  const b = await recordingUpstream(t);
  const bus = new MemoryBus();
  const build = async (id: string, withFailingCredentials: boolean): Promise<RunningGateway> => {
    const config = resolveConfig(
      {
        gatewayId: id,
        listen: { host: '127.0.0.1', port: 0 },
        admin: { enabled: false },
        log: { level: 'silent' },
        health: { probes: false },
        routing: { modelDiscovery: { interval: 0 } },
        regions: [
          { name: 'a', endpoints: [{ id: 'a', url: a.url, ...(withFailingCredentials ? { credentials: { command: { argv: [process.execPath, '-e', 'process.exit(3)'] } } } : {}) }] },
          { name: 'b', endpoints: [{ id: 'b', url: b.url }] },
        ],
      },
      {},
    );
    const gw = createGateway(config, { bus });
    await gw.listen();
    t.teardown(() => gw.close(0, 0));
    return gw;
  };
  const g1 = await build('g1', true);
  const g2 = await build('g2', false);
  const stateOf = (gw: RunningGateway, id: string) => gw.health.snapshot().find((s) => s.id === id);
  t.equal(stateOf(g1, 'a')?.cause, 'credentials_expired', 'no first token: down on g1');
  // Something g1 does share, after the credential ejection: once g2 has it, g2 has seen all g1 published.
  g1.fleet.drain('b', 'marker', 60_000);
  await until("g2 applies g1's drain", () => stateOf(g2, 'b')?.state === 'drained');
  t.not(stateOf(g2, 'a')?.state, 'ejected', 'g2 does not take on a credential problem of g1');
});
