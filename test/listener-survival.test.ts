/**
 * Nothing sent to the admin port or the main listener stops the gateway (issue 9). The built CLI
 * (`dist/cli.js`, run `npm run build` first) is started as its own process, alone and with
 * `--workers 2`; the two requests that used to end it are sent, then a fuzz corpus (malformed escapes,
 * absolute-, asterisk- and `//` targets, long targets, odd methods, oversized and broken headers, raw
 * bytes) over node:net to both listeners. Afterwards the process must still run and serve, no worker may
 * have died (the primary would quietly fork another), and the admin API must have logged no error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { writeConfig } from './helpers/built.js';
import { startSim } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');

interface Running {
  child: ChildProcess;
  stderr: () => string;
  main: URL;
  admin: URL;
}

/** Start `dist/cli.js start` on ephemeral ports over one upstream; the whole process group ends in teardown. */
async function startCli(tt: Tap, upstream: string, workers?: number): Promise<Running> {
  const file = writeConfig(tt, [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { host: 127.0.0.1, port: 0 }',
    'log: { level: warn }',
    'health: { probes: false }',
    'regions:',
    `  - { name: a, endpoints: [{ url: "${upstream}" }] }`,
  ]);
  const args = [CLI, 'start', '--config', file, ...(workers ? ['--workers', String(workers)] : [])];
  // Its own process group, so teardown ends the primary and its workers by the group's id.
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  tt.teardown(() => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const listening = workers ?? 1;
  await waitUntil(`${listening} gateway process(es) listening`, () => (stderr.match(/listening on/g) ?? []).length >= listening || child.exitCode !== null, 30_000);
  if (child.exitCode !== null) throw new Error(`regiongate exited ${child.exitCode}: ${stderr}`);
  const m = /listening on (http:\/\/[^,\s]+), admin on (http:\/\/[^\s",]+)/.exec(stderr);
  const admin = workers ? /workers, admin on (http:\/\/[^\s",]+)/.exec(stderr)?.[1] : m?.[2];
  if (!m || !admin) throw new Error(`no listener addresses in: ${stderr}`);
  const running = { child, stderr: () => stderr, main: new URL(m[1]), admin: new URL(admin) };
  // With workers, the admin port answers once a worker has reported its private listener.
  await waitUntil('the admin API answers', async () => (await request(new URL('/admin/state', admin), { reset: true }).then((r) => (r.body.dump(), r.statusCode)).catch(() => 0)) === 200, 20_000, 50);
  return running;
}

interface Tap {
  teardown(fn: () => unknown): void;
}

/**
 * Write `bytes` on a fresh connection and collect the answer until the server closes; bounded to `ms`.
 * `halfClose` ends our side at once (the server stops waiting for more), but Node aborts a request
 * still being answered when its client half-closes, so relayed answers need it off.
 */
function sendRaw(url: URL, bytes: Buffer | string, ms = 2000, halfClose = true): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, ms);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => (halfClose ? socket.end(bytes) : socket.write(bytes)));
  });
}

/** A deterministic PRNG (xorshift32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const TARGETS = [
  '/admin/regions/%ZZ/drain',
  '/admin/endpoints/%/drain',
  '/admin/endpoints/%E0%A4%A/drill?seconds=%ZZ',
  '/admin/endpoints/a-0%00/eject',
  '/admin/regions/..%2F..%2F/drain',
  '/admin/state?%ZZ=%ZZ',
  '/v1/chat/completions?%ZZ',
  '/v1/%ZZ/models',
  'http://x/',
  'http://x/admin/state',
  'https://[::1]:99999/admin/regions/a/drain',
  '*',
  '//x',
  '//127.0.0.1:1/admin/state',
  '/' + 'a'.repeat(8000),
  '/admin/endpoints/' + 'b'.repeat(6000) + '/drain',
  '/?' + 'q=%ZZ&'.repeat(1500),
  '',
  '/\\..\\admin',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'HEAD', 'PROPFIND', 'get', 'FOO', 'CONNECT'];
const HEADER_SETS: string[][] = [
  [],
  ['Content-Type: text/plain', 'Content-Length: 2', '', 'hi'],
  ['Content-Type: application/json', 'Content-Length: 2', '', '{}'],
  ['X-Regiongate-Admin: 1', 'Origin: null'],
  ['Origin: http://evil.example', 'Content-Type: application/json'],
  ['Host: evil.example', 'Host: 127.0.0.1'],
  ['Host: [::1', 'Origin: http://[::1'],
  ['Host: a b@c/d'],
  ['Authorization: Bearer ' + 'x'.repeat(4000)],
  ['X-Big: ' + 'y'.repeat(20_000)],
  ['X-Huge: ' + 'z'.repeat(70_000)],
  Array.from({ length: 1500 }, (_, i) => `X-H${i}: v`),
  ['Content-Length: -1'],
  ['Content-Length: abc'],
  ['Content-Length: 5', 'Transfer-Encoding: chunked', '', 'zz\r\nnot-a-chunk\r\n'],
  ['Transfer-Encoding: chunked', '', 'fffffffffffffffffff\r\n'],
  ['Expect: 100-continue', 'Content-Length: 10'],
  ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=='],
  ['Bad Header Name: x'],
  ['X-Ctl: a\x01b\x7fc'],
  ['X-Latin: caf\xe9 \xff\xfe'],
];
const RAW: (string | Buffer)[] = [
  '\r\n\r\n',
  'GET /\r\n',
  'GET / HTTP/1.0\r\n\r\n',
  'GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  Buffer.from('16030100a5010000a10303', 'hex'), // the start of a TLS ClientHello
  Buffer.alloc(64, 0),
  'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nPOST /admin/regions/%ZZ/drain HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Regiongate-Admin: 1\r\n\r\n',
  'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabcGET /x HTTP/1.1\r\n\r\n',
];

/** The corpus: every target with a few methods and header sets, the raw cases, then seeded mutations. */
function corpus(seed: number, mutations: number): (string | Buffer)[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const build = (method: string, target: string, headers: string[]): string => {
    const blank = headers.indexOf('');
    const head = blank === -1 ? headers : headers.slice(0, blank);
    const body = blank === -1 ? '' : headers.slice(blank + 1).join('\r\n');
    const host = head.some((h) => /^host:/i.test(h)) ? [] : ['Host: 127.0.0.1'];
    return `${method} ${target} HTTP/1.1\r\n${[...host, ...head, 'Connection: close'].join('\r\n')}\r\n\r\n${body}`;
  };
  const out: (string | Buffer)[] = [...RAW];
  for (const target of TARGETS) for (const method of ['GET', 'POST', 'OPTIONS']) out.push(build(method, target, ['X-Regiongate-Admin: 1']));
  for (const headers of HEADER_SETS) for (const method of ['GET', 'POST']) out.push(build(method, '/admin/regions/a/drain', headers));
  for (const method of METHODS) out.push(build(method, pick(TARGETS), pick(HEADER_SETS)));
  for (let i = 0; i < mutations; i++) {
    const bytes = Buffer.from(build(pick(METHODS), pick(TARGETS), pick(HEADER_SETS)), 'latin1');
    // Flip, drop or insert a few bytes anywhere in the request.
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
    const cut = rnd() < 0.3 ? Math.floor(rnd() * bytes.length) : bytes.length;
    out.push(bytes.subarray(0, cut));
  }
  return out;
}

/** Send every case to `url`, `parallel` connections at a time; resolves the answers' status lines. */
async function fuzz(url: URL, cases: (string | Buffer)[], parallel = 8): Promise<string[]> {
  const statuses: string[] = [];
  for (let i = 0; i < cases.length; i += parallel) {
    const answers = await Promise.all(cases.slice(i, i + parallel).map((c) => sendRaw(url, c)));
    for (const a of answers) statuses.push(/^HTTP\/1\.\d (\d{3})/.exec(a)?.[1] ?? (a === '' ? 'closed' : 'other'));
  }
  return statuses;
}

async function assertServing(tt: Test, r: Running, what: string): Promise<void> {
  tt.equal(r.child.exitCode, null, `${what}: the process still runs`);
  const health = await request(new URL('/healthz', r.admin), { reset: true });
  tt.equal(health.statusCode, 200, `${what}: the admin port answers`);
  await health.body.dump();
  const state = await request(new URL('/admin/state', r.admin), { reset: true });
  tt.equal(state.statusCode, 200, `${what}: /admin/state answers`);
  await state.body.dump();
  const chat = await request(new URL('/v1/chat/completions', r.main), {
    method: 'POST',
    body: '{"model":"m","messages":[{"role":"user","content":"hi"}]}',
    headers: { 'content-type': 'application/json' },
    reset: true,
  });
  tt.equal(chat.statusCode, 200, `${what}: the data plane serves`);
  await chat.body.dump();
  tt.notMatch(r.stderr(), /exited \(|admin\.error|Uncaught|URIError|ERR_INVALID_URL/, `${what}: no worker died, no admin error was logged`);
}

t.before(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
});

// One process per mode, shared by its cases: spawning is the slow part on a busy machine.
t.test('a lone gateway process', async (t) => {
  const sim = await startSim(t, { name: 'a' });
  const r = await startCli(t, sim.url);

  await t.test('a malformed escape in an admin action path does not stop the gateway', async (t) => {
    const res = await request(new URL('/admin/regions/%ZZ/drain', r.admin), { method: 'POST', headers: { 'x-regiongate-admin': '1' }, reset: true });
    t.equal(res.statusCode, 400, 'a 400 naming the bad escape');
    t.match(await res.body.json(), { error: { code: 'RG_ADMIN_BAD_REQUEST', message: /malformed percent-escape/ } });
    await assertServing(t, r, 'after %ZZ');
  });

  await t.test('fuzzed requests on the admin and main listeners leave it alive and serving', async (t) => {
    const cases = corpus(0x5eed, 80);
    const admin = await fuzz(r.admin, cases);
    t.notOk(admin.includes('500'), `no admin answer is a 500 (statuses: ${[...new Set(admin)].join(' ')})`);
    await fuzz(r.main, cases);
    await assertServing(t, r, `after ${cases.length} cases on each listener`);
  });
});

t.test('a --workers 2 gateway', async (t) => {
  const sim = await startSim(t, { name: 'a' });
  const r = await startCli(t, sim.url, 2);

  await t.test('an absolute-form target on the admin port does not stop the primary', async (t) => {
    const answer = await sendRaw(r.admin, 'GET http://x/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 5000, false);
    t.match(answer, /^HTTP\/1\.1 400 /, 'a 400, not a crash');
    t.match(answer, /RG_ADMIN_BAD_REQUEST/);
    // `//host/path` would make a URL-based relay talk to another host.
    const relayed = await sendRaw(r.admin, 'GET //127.0.0.1:1/admin/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 5000, false);
    t.match(relayed, /^HTTP\/1\.1 404 /, 'a //host target stays a path on the worker');
    await assertServing(t, r, 'after absolute-form');
  });

  await t.test('fuzzed requests leave it alive and serving, with no worker lost', async (t) => {
    const cases = corpus(0xbeef, 60);
    const admin = await fuzz(r.admin, cases);
    t.notOk(admin.includes('500'), `no admin answer is a 500 (statuses: ${[...new Set(admin)].join(' ')})`);
    await fuzz(r.main, cases);
    await assertServing(t, r, `after ${cases.length} cases on each listener`);
  });
});
