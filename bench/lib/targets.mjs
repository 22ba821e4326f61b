/**
 * Target servers, on the load generator's core: the fast target (nginx when installed, else node:http)
 * answering every request with a fixed 1 KB JSON, on one or many ports; and the SSE target (regiongate's
 * region simulator).
 */
import { fileURLToPath } from 'node:url';
import { CORES, startChild, waitForLine } from './children.mjs';
import { onPath } from './machine.mjs';
import { startNative } from './native.mjs';
import { nginxTargetConf } from './nginx-conf.mjs';

export const SERVE = fileURLToPath(new URL('./servers/serve.mjs', import.meta.url));

/**
 * @typedef {object} Target
 * @property {string} kind   what serves it (`nginx`, `node:http`, `region-simulator`)
 * @property {string[]} urls one base URL per port
 * @property {string} url    the first of them
 * @property {number} pid
 * @property {() => Promise<void>} stop
 */

/**
 * A Node child of ours (`serve.mjs KIND`), pinned to `core`, resolved once it printed READY.
 * @param {string} name
 * @param {string} kind
 * @param {object} opts
 * @param {{ core: number, nodeArgs?: string[] }} where
 */
export async function startNodeServer(name, kind, opts, where) {
  const child = startChild({
    name,
    cmd: process.execPath,
    args: [...(where.nodeArgs ?? []), SERVE, kind, JSON.stringify(opts)],
    core: where.core,
    ipc: true,
  });
  try {
    const info = await waitForLine(child, 'READY ', 20_000);
    return { child, info };
  } catch (err) {
    await child.stop(500);
    throw err;
  }
}

/**
 * The fast target on `ports` ports: nginx when on PATH (unless `forceNode`), else node:http.
 * @param {{ ports?: number, forceNode?: boolean }} [o]
 * @returns {Promise<Target>}
 */
export async function startFastTarget({ ports = 1, forceNode = false } = {}) {
  if (!forceNode && onPath('nginx')) {
    const n = await startNative({
      name: 'target-nginx',
      program: 'nginx',
      core: CORES.load,
      portCount: ports,
      makeConf: nginxTargetConf,
    });
    return { kind: 'nginx', urls: n.urls, url: n.urls[0], pid: n.child.pid, stop: n.stop };
  }
  const { child, info } = await startNodeServer('target-node', 'fixed-target', { ports }, { core: CORES.load });
  return { kind: 'node:http', urls: info.urls, url: info.urls[0], pid: child.pid, stop: () => child.stop() };
}

/**
 * The SSE target: a region simulator streaming `frames` frames every `intervalMs` ms per chat stream.
 * @param {{ frames: number, intervalMs: number }} o
 * @returns {Promise<Target>}
 */
export async function startSseTarget(o) {
  const { child, info } = await startNodeServer('target-sim', 'sim-target', o, { core: CORES.load });
  return { kind: 'region-simulator', urls: info.urls, url: info.urls[0], pid: child.pid, stop: () => child.stop() };
}
