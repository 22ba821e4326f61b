/**
 * Child processes of the bench: every system, target and the load generator runs in its own process,
 * pinned to one core with `taskset` where that exists. Every child is tracked here and killed when the
 * bench ends, fails or is interrupted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { connect } from 'node:net';
import { onPath } from './machine.mjs';

/** Core 0: load generator, targets and the orchestrator. Core 1: the system under test. */
export const CORES = Object.freeze({ load: 0, system: 1 });

const TAIL_BYTES = 8 * 1024;
/** @type {Set<ChildHandle>} */
const live = new Set();
let hooked = false;

/** True when children can be pinned: `taskset` on PATH and at least two cores. */
export const canPin = onPath('taskset') !== undefined && availableParallelism() >= 2;

/**
 * The command prefix that pins a process to `core` (empty when pinning is unavailable).
 * @param {number} core
 */
export function pinPrefix(core) {
  return canPin ? ['taskset', '-c', String(core)] : [];
}

/** Pin the current process (all its threads) to `core`; a no-op without taskset. */
export function pinSelf(/** @type {number} */ core) {
  if (!canPin) return false;
  return spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/**
 * @typedef {object} ChildHandle
 * @property {string} name
 * @property {import('node:child_process').ChildProcess} proc
 * @property {number} pid
 * @property {Promise<number | null>} exited  resolves with the exit code (null after a signal)
 * @property {() => string} tail  the last few KB of stdout and stderr, for error reports
 * @property {(graceMs?: number) => Promise<void>} stop  SIGTERM, then SIGKILL after `graceMs`
 */

/**
 * Start a child pinned to `core`. Node children get an IPC channel (they exit when it closes, so a
 * crashed bench leaves none behind). Output is drained continuously so a chatty child never blocks.
 * @param {{ name: string, cmd: string, args?: string[], core?: number, env?: NodeJS.ProcessEnv, ipc?: boolean, serialization?: 'json' | 'advanced' }} o
 * @returns {ChildHandle}
 */
export function startChild(o) {
  installExitHooks();
  const prefix = o.core === undefined ? [] : pinPrefix(o.core);
  const argv = [...prefix, o.cmd, ...(o.args ?? [])];
  const proc = spawn(argv[0], argv.slice(1), {
    stdio: o.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
    serialization: o.serialization ?? 'json',
  });
  let tail = '';
  const keep = (/** @type {Buffer} */ chunk) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise((resolve) => {
    proc.once('exit', (code) => resolve(code));
    proc.once('error', (err) => {
      keep(Buffer.from(`spawn error: ${err.message}\n`));
      resolve(-1);
    });
  });
  /** @type {ChildHandle} */
  const handle = {
    name: o.name,
    proc,
    pid: proc.pid ?? -1,
    exited,
    tail: () => tail,
    async stop(graceMs = 3000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      live.delete(handle);
    },
  };
  live.add(handle);
  void exited.then(() => live.delete(handle));
  return handle;
}

/**
 * Wait for a line `PREFIX {json}` on the child's stdout; rejects on exit or after `timeoutMs`.
 * @param {ChildHandle} child
 * @param {string} prefix
 * @param {number} timeoutMs
 * @returns {Promise<any>}
 */
export function waitForLine(child, prefix, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (/** @type {Error | undefined} */ err, /** @type {any} */ value = undefined) => {
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (/** @type {Buffer} */ chunk) => {
      buf += chunk.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith(prefix)) {
          try {
            return done(undefined, JSON.parse(line.slice(prefix.length).trim() || 'null'));
          } catch (err) {
            return done(/** @type {Error} */ (err));
          }
        }
      }
    };
    const timer = setTimeout(() => done(new Error(`${child.name}: no "${prefix}" line within ${timeoutMs} ms\n${child.tail()}`)), timeoutMs);
    child.proc.stdout?.on('data', onData);
    void child.exited.then((code) => done(new Error(`${child.name} exited (${code}) before it was ready\n${child.tail()}`)));
  });
}

/**
 * Wait until `127.0.0.1:port` accepts a TCP connection; bounded by `timeoutMs`.
 * @param {number} port
 * @param {ChildHandle} [child]  fail early when this child exits
 */
export async function waitForPort(port, timeoutMs = 10_000, child) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child?.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child?.name} exited before listening on ${port}\n${child?.tail()}`);
    const ok = await new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms${child ? `\n${child.tail()}` : ''}`);
}

/** Stop every live child (graceful, bounded). */
export async function stopAll(graceMs = 3000) {
  await Promise.all([...live].map((c) => c.stop(graceMs)));
}

/** Kill every live child now (synchronous; for exit paths). */
export function killAll() {
  for (const c of live) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** Kill children on exit, Ctrl-C, SIGTERM and uncaught errors. Idempotent. */
export function installExitHooks() {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children\n`);
      killAll();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  process.once('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    killAll();
    process.exit(1);
  });
  process.once('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection: ${/** @type {Error} */ (err)?.stack ?? err}\n`);
    killAll();
    process.exit(1);
  });
}
