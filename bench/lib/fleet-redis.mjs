/**
 * The fleet bench's own `redis-server`: loopback, an ephemeral port (never the shared 6379), no
 * persistence (`--save '' --appendonly no`), a temporary working directory. It can be killed
 * (SIGKILL) and restarted on the same port, or paused (SIGSTOP) and resumed (SIGCONT). The process is a
 * tracked child (`children.mjs`), so it is killed on exit, errors and Ctrl-C too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './children.mjs';
import { freePort } from './free-port.mjs';

/** True when `redis-server` can be run. */
export const haveRedisServer = () => !spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error;

/** One PING over a raw socket: true on +PONG within `timeoutMs`. */
export function ping(/** @type {number} */ port, timeoutMs = 300) {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const done = (/** @type {boolean} */ ok) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

/**
 * Start redis-server and wait until it answers PING.
 * @returns {Promise<{ port: number, url: string, kill(): Promise<void>, restart(): Promise<void>, pause(): void, resume(): void, close(): Promise<void> }>}
 */
export async function startRedis() {
  const port = /** @type {number} */ (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'regiongate-bench-redis-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  /** @type {import('./children.mjs').ChildHandle | undefined} */
  let child;
  let paused = false;

  const launch = async () => {
    const c = startChild({ name: 'redis-server', cmd: 'redis-server', args });
    child = c;
    const end = Date.now() + 10_000;
    let exited = false;
    void c.exited.then(() => (exited = true));
    while (!(await ping(port, 200))) {
      if (exited) throw new Error(`redis-server on port ${port} exited:\n${c.tail()}`);
      if (Date.now() > end) throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${c.tail()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c) return;
    c.proc.kill('SIGKILL'); // also ends a paused process
    paused = false;
    await c.exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      await launch();
    },
    pause() {
      if (child && !paused) child.proc.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (child && paused) child.proc.kill('SIGCONT');
      paused = false;
    },
    async close() {
      await kill();
      removeDir();
    },
  };
}
