/**
 * The systems compared, each started in its own process on the system core (core 1), configured
 * fairly: keep-alive upstream connections, one worker/thread, no response buffering (SSE flows as it
 * comes). `direct` is the client calling the target itself, the baseline of every "added" figure.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { CORES, startChild, waitForPort } from './children.mjs';
import { freePort } from './free-port.mjs';
import { onPath } from './machine.mjs';
import { startNative } from './native.mjs';
import { haproxyConf, nginxProxyConf } from './nginx-conf.mjs';
import { startNodeServer } from './targets.mjs';

export const ALL_SYSTEMS = Object.freeze(['direct', 'regiongate', 'undici-minimal', 'node-http-proxy', 'fastify-http-proxy', 'portkey', 'nginx', 'haproxy']);

const PORTKEY_SERVER = fileURLToPath(new URL('../node_modules/@portkey-ai/gateway/build/start-server.js', import.meta.url));
const PORTKEY_PRELOAD = fileURLToPath(new URL('./servers/portkey-preload.mjs', import.meta.url));

/**
 * @typedef {object} System
 * @property {string} name
 * @property {string} url                      base URL the client calls
 * @property {Record<string, string>} headers  extra request headers this system needs
 * @property {number | undefined} pid          the system's process (undefined for `direct`)
 * @property {() => Promise<void>} stop
 */

/** A system that cannot run here; `reason` is printed and recorded. */
export class SkipError extends Error {}

/**
 * @typedef {object} SystemOptions
 * @property {string} target  base URL of the (first) target
 * @property {{ name: string, urls: string[] }[]} [regions]  regiongate's regions (default: one region, the target)
 * @property {string} [label]  a name other than the system's (routing-cost runs regiongate twice)
 * @property {string[]} [nodeArgs]  extra node flags for regiongate (`--cpu-prof` ...)
 */

/**
 * Start one system in front of the target.
 * @param {string} name
 * @param {SystemOptions} o
 * @returns {Promise<System>}
 */
export async function startSystem(name, o) {
  const label = o.label ?? name;
  switch (name) {
    case 'direct':
      return { name: label, url: o.target, headers: {}, pid: undefined, stop: async () => {} };
    case 'regiongate': {
      const regions = o.regions ?? [{ name: 'bench', urls: [o.target] }];
      const { child, info } = await startNodeServer(label, 'regiongate', { regions }, { core: CORES.system, nodeArgs: o.nodeArgs });
      return { name: label, url: info.url, headers: {}, pid: child.pid, stop: () => child.stop(5000) };
    }
    case 'undici-minimal':
    case 'node-http-proxy':
    case 'fastify-http-proxy': {
      const { child, info } = await startNodeServer(label, name, { target: o.target }, { core: CORES.system });
      return { name: label, url: info.url, headers: {}, pid: child.pid, stop: () => child.stop() };
    }
    case 'portkey':
      return startPortkey(label, o.target);
    case 'nginx':
    case 'haproxy': {
      if (!onPath(name)) throw new SkipError(`${name} is not on PATH (apt-get install -y ${name})`);
      const n = await startNative({
        name: label,
        program: name,
        core: CORES.system,
        portCount: 1,
        makeConf: (dir, [port]) => (name === 'nginx' ? nginxProxyConf(dir, port, o.target) : haproxyConf(port, o.target)),
      });
      return { name: label, url: n.urls[0], headers: {}, pid: n.child.pid, stop: n.stop };
    }
    default:
      throw new SkipError(`unknown system "${name}" (one of ${ALL_SYSTEMS.join(', ')})`);
  }
}

/**
 * The Portkey AI gateway (`@portkey-ai/gateway`, Node build) routed to the target as a custom OpenAI
 * host. It takes only `--port`; the preload binds it to loopback.
 * @param {string} label
 * @param {string} target
 * @returns {Promise<System>}
 */
async function startPortkey(label, target) {
  if (!existsSync(PORTKEY_SERVER)) throw new SkipError('@portkey-ai/gateway is not installed (npm ci --prefix bench)');
  const port = await freePort();
  const child = startChild({
    name: label,
    cmd: process.execPath,
    args: ['--import', PORTKEY_PRELOAD, PORTKEY_SERVER, `--port=${port}`, '--headless'],
    core: CORES.system,
    env: { NODE_ENV: 'production' },
    ipc: true,
  });
  try {
    await waitForPort(port, 20_000, child);
  } catch (err) {
    await child.stop(500);
    throw new SkipError(`Portkey did not start: ${/** @type {Error} */ (err).message.split('\n')[0]}`);
  }
  return {
    name: label,
    url: `http://127.0.0.1:${port}`,
    headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${target}/v1` },
    pid: child.pid,
    stop: () => child.stop(),
  };
}

/**
 * Start every system in `names`; a system that cannot run is skipped with its reason.
 * @param {readonly string[]} names
 * @param {SystemOptions} o
 * @param {(s: System) => Promise<string | undefined>} [check]  returns a reason to skip a started system
 */
export async function startSystems(names, o, check) {
  /** @type {System[]} */
  const systems = [];
  /** @type {{ name: string, reason: string }[]} */
  const skipped = [];
  for (const name of names) {
    try {
      const s = await startSystem(name, o);
      const problem = check ? await check(s) : undefined;
      if (problem) {
        await s.stop();
        skipped.push({ name, reason: problem });
        continue;
      }
      systems.push(s);
    } catch (err) {
      skipped.push({ name, reason: /** @type {Error} */ (err).message.split('\n')[0] });
    }
  }
  for (const s of skipped) process.stdout.write(`  skip ${s.name}: ${s.reason}\n`);
  return { systems, skipped };
}

/**
 * One real request through `system`; returns a reason when the answer is not the expected one.
 * @param {System} system
 * @param {{ path: string, method?: 'GET' | 'POST', headers: Record<string, string>, body?: string, expectBytes?: number, expectType?: string }} req
 */
export async function smokeCheck(system, req) {
  try {
    const res = await request(`${system.url}${req.path}`, {
      method: req.method ?? 'POST',
      headers: { ...req.headers, ...system.headers },
      body: req.body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return `smoke request answered ${res.statusCode}: ${text.slice(0, 200)}`;
    if (req.expectBytes !== undefined && text.length !== req.expectBytes) return `smoke answer is ${text.length} bytes, expected ${req.expectBytes}`;
    const type = String(res.headers['content-type'] ?? '');
    if (req.expectType && !type.startsWith(req.expectType)) return `smoke answer content-type "${type}", expected ${req.expectType}`;
    return undefined;
  } catch (err) {
    return `smoke request failed: ${/** @type {Error} */ (err).message}`;
  }
}

/** Stop every system (bounded, in parallel). */
export async function stopSystems(/** @type {System[]} */ systems) {
  await Promise.all(systems.map((s) => s.stop().catch(() => undefined)));
}
