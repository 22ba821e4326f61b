/**
 * The bench's side of the load generator: one child process on the load core (core 0), separate from
 * every system under test, driven job by job over IPC.
 */
import { fileURLToPath } from 'node:url';
import { CORES, startChild } from './children.mjs';

const WORKER = fileURLToPath(new URL('./loadgen-worker.mjs', import.meta.url));

/**
 * @typedef {object} Loadgen
 * @property {number} pid
 * @property {(job: Record<string, unknown> & { kind: string }, timeoutMs: number, onEvent?: (e: any) => void) => Promise<any>} run
 * @property {() => Promise<void>} stop
 */

/** @returns {Promise<Loadgen>} */
export async function startLoadgen() {
  const child = startChild({ name: 'loadgen', cmd: process.execPath, args: [WORKER], core: CORES.load, ipc: true, serialization: 'advanced' });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`load generator did not start\n${child.tail()}`)), 10_000);
    child.proc.once('message', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    void child.exited.then((code) => reject(new Error(`load generator exited (${code})\n${child.tail()}`)));
  });
  let seq = 0;
  /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void, onEvent?: (e: any) => void }>} */
  const pending = new Map();
  child.proc.on('message', (/** @type {any} */ msg) => {
    const p = pending.get(msg.id);
    if (!p) return;
    if (msg.event) return p.onEvent?.(msg.event);
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`load generator: ${msg.error}`));
    else p.resolve(msg.result);
  });
  void child.exited.then((code) => {
    for (const p of pending.values()) p.reject(new Error(`load generator exited (${code})\n${child.tail()}`));
    pending.clear();
  });
  return {
    pid: child.pid,
    run(job, timeoutMs, onEvent) {
      const id = ++seq;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`load generator job ${job.kind} took longer than ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
          onEvent,
        });
        child.proc.send({ id, job });
      });
    },
    stop: () => child.stop(),
  };
}
