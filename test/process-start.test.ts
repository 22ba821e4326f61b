// A start that cannot bind exits 1 and names the listener and its address, in every mode: the main or
// the admin port in use, with a Redis store (which used to keep the process alive), and with --workers
// (whose workers used to fail while the primary stayed up). Spawns dist/cli.js against ports this test
// holds, and waits for the exit event; tap's timeout is the only bound.
import { createServer, type Server } from 'node:net';
import t from 'tap';
import { CLI_MISSING, startCli, writeConfig } from './helpers/built.js';
import { refusedUrl } from './helpers/gateway.js';
import { REDIS_SKIP, startRedisServer, type Teardown } from './helpers/redis-server.js';

/** A port on 127.0.0.1 held by this test until teardown. */
async function heldPort(t: Teardown): Promise<number> {
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

async function config(t: Teardown, opts: { port: number; adminPort: number; redis?: string }): Promise<string> {
  return writeConfig(t, [
    `listen: { host: 127.0.0.1, port: ${opts.port} }`,
    `admin: { host: 127.0.0.1, port: ${opts.adminPort} }`,
    'log: { level: warn }',
    'health: { probes: false }',
    ...(opts.redis ? ['state:', '  store: redis', `  redis: { url: "${opts.redis}" }`] : []),
    'regions:',
    `  - { name: a, endpoints: [{ url: "${await refusedUrl()}" }] }`,
  ]);
}

const cases: { name: string; busy: 'main' | 'admin'; workers?: number; redis?: boolean }[] = [
  { name: 'main port in use: exits 1 naming the main listener', busy: 'main' },
  { name: 'admin port in use: exits 1 naming the admin listener', busy: 'admin' },
  { name: 'main port in use with state.store redis: exits 1 instead of hanging on its Redis connections', busy: 'main', redis: true },
  { name: '--workers 2 with the main port in use: the primary exits 1 instead of staying up', busy: 'main', workers: 2 },
  { name: '--workers 2 with the admin port in use: exits 1 naming the admin listener', busy: 'admin', workers: 2 },
];

for (const c of cases) {
  t.test(c.name, { skip: CLI_MISSING || (c.redis ? REDIS_SKIP : false) }, async (t) => {
    const held = await heldPort(t);
    const redis = c.redis ? await startRedisServer(t) : undefined;
    const file = await config(t, { port: c.busy === 'main' ? held : 0, adminPort: c.busy === 'admin' ? held : 0, redis: redis?.url });
    const cli = startCli(t, ['start', '--config', file, ...(c.workers ? ['--workers', String(c.workers)] : [])]);
    const { code, signal } = await cli.exited;
    t.same({ code, signal }, { code: 1, signal: null }, 'exit code 1');
    t.match(cli.stderr(), `cannot listen: ${c.busy} listener on 127.0.0.1:${held}: address already in use (EADDRINUSE)`);
    t.notMatch(cli.stderr(), /\n\s+at /, 'no stack trace');
  });
}
