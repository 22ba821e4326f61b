/**
 * Test helper: real `redis-server` processes on ephemeral ports (never the shared one on 6379), which a
 * test may kill, pause (SIGSTOP), resume and restart. Everything is killed in `t.teardown`. When
 * `redis-server` is not installed, `REDIS_SKIP` holds the skip message for `t.test(..., { skip })`.
 */
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../src/config/schema.js';
import type { FleetEvent } from '../../src/state/fleet-event.js';
import type { RedisConnectionConfig } from '../../src/state/redis-clients.js';
import type { RedisStoreOptions } from '../../src/state/redis-store.js';
import { systemClock } from '../../src/util/clock.js';
import { seededRandom } from '../../src/util/random.js';
import { EVENT_BOUND_MS, until } from './wait.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Why Redis tests skip, or false when `redis-server` is on PATH. */
export const REDIS_SKIP: string | false = spawnSync('redis-server', ['--version']).error
  ? 'redis-server is not on PATH; install it: apt-get install redis-server'
  : false;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

/**
 * A free TCP port on 127.0.0.1 (bind to :0, read it, close). With `alsoFree`, the port + that offset
 * must be free too (a cluster node's bus port is port + 10000).
 */
export async function freePort(alsoFree?: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await listenOnce(0);
    if (p === undefined) continue;
    if (alsoFree === undefined) return p;
    if (p + alsoFree <= 65535 && (await listenOnce(p + alsoFree)) !== undefined) return p;
  }
  throw new Error('no free port found');
}

/** One PING over a raw socket; true on +PONG within `timeoutMs`. */
export function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      // A server with `requirepass` is up too: it answers NOAUTH.
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG') || buf.startsWith('-NOAUTH'));
    });
  });
}

/** Poll `fn` until it returns true (or throw after `timeoutMs`, naming `what`); a generous bound by default. */
export function waitUntil(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = EVENT_BOUND_MS, stepMs = 25): Promise<void> {
  return until(what, fn, timeoutMs, stepMs);
}

/** Run `redis-cli` with `args` (e.g. `['-p', '7000', 'info']`); resolves stdout, rejects on failure or after 10 s. */
export function redisCli(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: 10_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout),
    );
  });
}

/** A temporary directory removed on teardown. */
export function tempDir(t: Teardown, prefix = 'regiongate-redis-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL (after SIGCONT if paused) and wait for the exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets but answers nothing. */
  stop(): void;
  /** SIGCONT. */
  cont(): void;
  /** Kill, start again on the same port with the same arguments, wait for PING. */
  restart(): Promise<void>;
  /** Kill for good (idempotent); also run on teardown. */
  close(): Promise<void>;
  /** The last lines the process printed (for assertion messages). */
  log(): string;
}

export interface RedisServerOptions {
  /** Extra arguments, e.g. `['--replicaof', '127.0.0.1', '6380']`. */
  readonly args?: readonly string[];
  /** A config file to start with (first argument), e.g. a sentinel.conf. */
  readonly configFile?: string;
  readonly sentinel?: boolean;
  readonly port?: number;
  /** Working directory (`--dir`); a temp dir by default. */
  readonly dir?: string;
}

/** Spawn `redis-server` on an ephemeral port and wait until it answers PING. */
export async function startRedisServer(t: Teardown, opts: RedisServerOptions = {}): Promise<RedisServer> {
  if (REDIS_SKIP) throw new Error(REDIS_SKIP);
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? tempDir(t);
  const args = [
    ...(opts.configFile ? [opts.configFile] : []),
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    ...(opts.sentinel ? ['--sentinel'] : ['--save', '', '--appendonly', 'no']),
    ...(opts.args ?? []),
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  let closed = false;
  let output = '';

  const launch = async (): Promise<void> => {
    const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (d: Buffer): void => {
      output = (output + d.toString()).slice(-4000);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    c.once('exit', () => {
      if (child === c) child = undefined;
    });
    await waitUntil(`redis-server on port ${port} (${output.slice(-300)})`, async () => {
      if (!child) throw new Error(`redis-server on port ${port} exited: ${output.slice(-500)}`);
      return ping(port, 200);
    });
  };

  const kill = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    if (stopped) c.kill('SIGCONT');
    stopped = false;
    c.kill('SIGKILL');
    await exited;
  };

  await launch();
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    stop() {
      if (child && !stopped) {
        child.kill('SIGSTOP');
        stopped = true;
      }
    },
    cont() {
      if (child && stopped) {
        child.kill('SIGCONT');
        stopped = false;
      }
    },
    async restart() {
      await kill();
      if (!closed) await launch();
    },
    async close() {
      closed = true;
      await kill();
    },
    log: () => output,
  };
  t.teardown(() => server.close());
  return server;
}

/** `state.redis` as the config schema resolves it: the timings a test does not shorten. */
const CONFIGURED = configSchema.shape.state.parse({ store: 'redis', redis: { url: 'redis://127.0.0.1:1' } }).redis;

/** RedisStore options with timings short enough for tests (refresh and heartbeat every 200 ms). */
export function testStoreOptions(
  url: string,
  keyPrefix: string,
  gatewayId: string,
  localEvents: () => readonly FleetEvent[],
  redis: Partial<RedisConnectionConfig> = {},
): RedisStoreOptions {
  return {
    gatewayId,
    clock: systemClock,
    random: seededRandom(gatewayId.length),
    localEvents,
    refreshIntervalMs: 200,
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 1000,
    connectTimeoutMs: 500,
    maxReconnectDelayMs: 500,
    startTimeoutMs: CONFIGURED.startTimeout,
    maxInFlight: CONFIGURED.maxInFlight,
    redis: { url, keyPrefix, commandTimeout: 250, ...redis },
  };
}
