/**
 * The parent's side of the fleet bench's gateway children (`fleet-gateway.mjs`): start them, call
 * their ops over IPC, keep every transition, trace and raw pub/sub message they stream, track each
 * endpoint's state per gateway, and wait (bounded) for conditions on that state. Also the admin API
 * calls the bench makes.
 */
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startChild } from './children.mjs';

const CHILD = fileURLToPath(new URL('./fleet-gateway.mjs', import.meta.url));

/** Monotonic ms (µs precision) on the clock the children stamp with. */
export const mono = () => Number(process.hrtime.bigint() / 1000n) / 1000;
/** A child's decimal ns stamp as monotonic ms. */
export const nsToMs = (/** @type {string | bigint} */ ns) => Number(BigInt(ns) / 1000n) / 1000;
/** b − a in ms, exact to the ns. */
export const nsDiffMs = (/** @type {string | bigint} */ a, /** @type {string | bigint} */ b) => Number(BigInt(b) - BigInt(a)) / 1e6;
export const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @typedef {object} Transition
 * @property {bigint} ns
 * @property {string} endpointId
 * @property {string} from
 * @property {string} to
 * @property {string} cause
 * @property {number} at
 *
 * @typedef {object} FleetGateway
 * @property {number} index
 * @property {string} id
 * @property {string} url
 * @property {string} admin
 * @property {import('./children.mjs').ChildHandle} child
 * @property {Transition[]} transitions
 * @property {{ stage: string, ns: bigint, endpointId: string, event?: string, from?: string, state?: string }[]} traces
 * @property {Map<number, { sentNs: bigint, recvNs: bigint }>} raw
 * @property {Map<string, string>} state   endpoint id → current state
 * @property {(op: string, args?: object, timeoutMs?: number) => Promise<any>} call
 */

/** Listeners woken on every message from any child (for `waitFor`). */
const wakers = new Set();
const wake = () => {
  for (const w of [...wakers]) w();
};

/**
 * Poll `pred` on every message from a child and every 20 ms; resolves true when it holds, false after
 * `timeoutMs`.
 */
export function waitFor(/** @type {() => boolean} */ pred, /** @type {number} */ timeoutMs) {
  if (pred()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const check = () => {
      if (!pred()) return;
      done(true);
    };
    const done = (/** @type {boolean} */ ok) => {
      wakers.delete(check);
      clearInterval(poll);
      clearTimeout(timer);
      resolve(ok);
    };
    wakers.add(check);
    const poll = setInterval(check, 20);
    const timer = setTimeout(() => done(pred()), timeoutMs);
  });
}

/**
 * Start one gateway child and its gateway with `config`; resolves once it listens.
 * @returns {Promise<FleetGateway>}
 */
export async function startGateway(/** @type {number} */ index, /** @type {object} */ config) {
  const child = startChild({ name: `gateway-${index}`, cmd: process.execPath, args: ['--expose-gc', CHILD], ipc: true });
  const pending = new Map();
  let nextId = 0;
  /** @type {FleetGateway} */
  const g = {
    index,
    id: '',
    url: '',
    admin: '',
    child,
    transitions: [],
    traces: [],
    raw: new Map(),
    state: new Map(),
    call(op, args = {}, timeoutMs = 10_000) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`gateway-${index}: ${op} got no reply within ${timeoutMs} ms\n${child.tail()}`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        child.proc.send({ ...args, id, op });
      });
    },
  };
  child.proc.on('message', (/** @type {any} */ m) => {
    if (m.type === 'reply') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error) p.reject(new Error(`gateway-${index}: ${m.error}`));
      else p.resolve(m.result);
    } else if (m.type === 'transition') {
      g.transitions.push({ ns: BigInt(m.ns), endpointId: m.t.endpointId, from: m.t.from, to: m.t.to, cause: m.t.cause, at: m.t.at });
      g.state.set(m.t.endpointId, m.t.to);
    } else if (m.type === 'trace') {
      g.traces.push({ ...m, ns: BigInt(m.ns) });
    } else if (m.type === 'raw') {
      g.raw.set(m.seq, { sentNs: BigInt(m.sentNs), recvNs: BigInt(m.recvNs) });
    }
    wake();
  });
  void child.exited.then((code) => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`gateway-${index} exited (${code})\n${child.tail()}`));
    }
    pending.clear();
  });
  const started = await g.call('start', { config }, 20_000);
  Object.assign(g, { id: started.gatewayId, url: started.url, admin: started.admin });
  return g;
}

/** The state of `endpointId` on `g` (healthy until a transition says otherwise). */
export const stateOf = (/** @type {FleetGateway} */ g, /** @type {string} */ endpointId) => g.state.get(endpointId) ?? 'healthy';

/** POST an admin action; resolves the JSON answer (throws on a non-200). */
export async function adminAction(/** @type {FleetGateway} */ g, /** @type {string} */ action, /** @type {string} */ endpointId) {
  const res = await request(`${g.admin}/admin/endpoints/${encodeURIComponent(endpointId)}/${action}`, { method: 'POST', headers: { 'x-regiongate-admin': '1' }, headersTimeout: 5000, bodyTimeout: 5000 });
  const body = await res.body.json();
  if (res.statusCode !== 200) throw new Error(`gateway-${g.index} ${action} ${endpointId}: HTTP ${res.statusCode} ${JSON.stringify(body)}`);
  return body;
}

/** `GET /admin/state` of `g`. */
export async function adminState(/** @type {FleetGateway} */ g) {
  const res = await request(`${g.admin}/admin/state`, { headersTimeout: 5000, bodyTimeout: 5000 });
  return /** @type {any} */ (await res.body.json());
}

/** Every gateway's store status from the admin API (an error text in place of one that failed). */
export async function storeStatuses(/** @type {FleetGateway[]} */ gws) {
  return Promise.all(gws.map((g) => adminState(g).then((s) => s.store, (err) => ({ error: String(err.message ?? err) }))));
}

/** Wait until every gateway's store reports connected and not degraded; resolves whether it did. */
export async function waitConnected(/** @type {FleetGateway[]} */ gws, /** @type {number} */ timeoutMs) {
  const end = mono() + timeoutMs;
  while (mono() < end) {
    const s = await storeStatuses(gws);
    if (s.every((x) => x.connected && !x.degraded)) return true;
    await sleep(100);
  }
  return false;
}
