/**
 * One gateway of the fleet bench (`bench/fleet.mjs`), run as a child process with an IPC channel. The
 * parent sends requests `{ id, op, ...args }` and gets `{ type: 'reply', id, result | error }`; the
 * child streams what it observes, stamped with `process.hrtime.bigint()` (CLOCK_MONOTONIC: comparable
 * across processes of one Linux machine), sent as decimal strings:
 *
 *   { type: 'transition', ns, t }                 every health transition of every endpoint
 *   { type: 'trace', stage, ns, endpointId, … }   with tracing on: the fleet path inside this process,
 *                                                 `publish` (store.publish entered, sender side),
 *                                                 `view` (FleetView.apply entered, after parse) and
 *                                                 `applyRemote` (HealthTracker.applyRemote entered)
 *   { type: 'raw', seq, sentNs, recvNs }          a bare PUBLISH→SUBSCRIBE message heard on its own
 *                                                 ioredis connection
 *
 * Ops: start, trace, rawOpen, rawPing, rawClose, record, attempts, mem, close. The child exits when
 * the parent's IPC channel closes, so a crashed bench leaves no gateway behind.
 */
import diagnostics from 'node:diagnostics_channel';
import { Redis } from 'ioredis';
import { CHANNEL, createGateway, resolveConfig } from '../../dist/index.js';

if (typeof process.send !== 'function') {
  process.stderr.write('fleet-gateway.mjs is started by bench/fleet.mjs (it needs an IPC channel)\n');
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));

const MAX_RECORDED_ATTEMPTS = 200_000;
const stamp = () => process.hrtime.bigint().toString();
const send = (/** @type {object} */ m) => {
  if (process.connected) process.send?.(m);
};
/**
 * Observations are queued and sent after the current callback: an IPC send on the fleet path (inside
 * the wrapped publish, or before applyRemote) would add its own cost to the figure being measured.
 */
const queue = /** @type {object[]} */ ([]);
const observe = (/** @type {object} */ m) => {
  if (queue.push(m) === 1) setImmediate(() => {
    for (const q of queue.splice(0)) send(q);
  });
};

/** @type {import('../../dist/index.js').RunningGateway | undefined} */
let gw;
let tracing = false;
/** @type {{ pub: Redis, sub: Redis, channel: string } | undefined} */
let raw;
/** First attempts per region, and the stamps of first attempts to the watched region, while recording. */
const attempts = { on: false, region: 'a', stamps: /** @type {string[]} */ ([]), byRegion: /** @type {Record<string, number>} */ ({}), retries: 0 };

function onAttempt(/** @type {any} */ m) {
  if (!attempts.on) return;
  if (m.attempt !== 1) {
    attempts.retries++;
    return;
  }
  const region = m.endpoint.region;
  attempts.byRegion[region] = (attempts.byRegion[region] ?? 0) + 1;
  if (region === attempts.region && attempts.stamps.length < MAX_RECORDED_ATTEMPTS) attempts.stamps.push(stamp());
}

/**
 * Bench instrumentation: stamp the entry of three methods on the fleet path. Each is looked up on the
 * instance at call time (`this.#store.publish`, `this.apply`, `health.applyRemote`), so an own property
 * wrapping the prototype method sees every call; the wrapper costs one branch with tracing off.
 */
function instrument(/** @type {NonNullable<typeof gw>} */ g) {
  const wrap = (/** @type {any} */ obj, /** @type {string} */ name, /** @type {(args: any[]) => object} */ describe) => {
    const inner = obj[name];
    obj[name] = function traced(/** @type {any[]} */ ...args) {
      if (tracing) observe({ type: 'trace', stage: name === 'apply' ? 'view' : name, ns: stamp(), ...describe(args) });
      return inner.apply(this, args);
    };
  };
  wrap(g.store, 'publish', ([e]) => ({ endpointId: e.endpointId, event: e.type, from: e.gatewayId, seq: e.seq }));
  wrap(g.fleet.view, 'apply', ([e]) => ({ endpointId: e.endpointId, event: e.type, from: e.gatewayId, seq: e.seq }));
  wrap(g.health, 'applyRemote', ([r]) => ({ endpointId: r.endpointId, state: r.state }));
}

const ops = {
  async start(/** @type {{ config: object }} */ a) {
    gw = createGateway(resolveConfig(a.config));
    gw.health.onTransition((t) => observe({ type: 'transition', ns: stamp(), t }));
    instrument(gw);
    diagnostics.subscribe(CHANNEL.attemptStart, onAttempt);
    await gw.listen();
    return { url: gw.url, admin: gw.admin?.url, gatewayId: gw.gatewayId, pid: process.pid };
  },
  trace(/** @type {{ on: boolean }} */ a) {
    tracing = a.on;
    return tracing;
  },
  /** Open the bare pub/sub clients: one publishes on `channel`, one subscribes to it. */
  async rawOpen(/** @type {{ url: string, channel: string, subscribe: boolean }} */ a) {
    const opts = { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000, lazyConnect: true };
    const pub = new Redis(a.url, opts);
    const sub = new Redis(a.url, opts);
    for (const c of [pub, sub]) c.on('error', () => {});
    await Promise.all([pub.connect(), sub.connect()]);
    sub.on('message', (/** @type {string} */ channel, /** @type {string} */ message) => {
      const recvNs = stamp();
      if (channel !== a.channel) return;
      const m = JSON.parse(message);
      observe({ type: 'raw', seq: m.seq, sentNs: m.ns, recvNs });
    });
    if (a.subscribe) await sub.subscribe(a.channel);
    raw = { pub, sub, channel: a.channel };
    return true;
  },
  /** Publish one message carrying its send time; padded to the size of a fleet event. */
  async rawPing(/** @type {{ seq: number, pad: number }} */ a) {
    if (!raw) throw new Error('rawOpen first');
    const ns = stamp();
    await raw.pub.publish(raw.channel, JSON.stringify({ seq: a.seq, ns, pad: 'x'.repeat(a.pad) }));
    return ns;
  },
  async rawClose() {
    const r = raw;
    raw = undefined;
    if (r) await Promise.allSettled([r.pub.quit(), r.sub.quit()]);
    return true;
  },
  /** Start or stop recording attempts (starting clears what was recorded). */
  record(/** @type {{ on: boolean, region?: string }} */ a) {
    if (a.on) Object.assign(attempts, { region: a.region ?? 'a', stamps: [], byRegion: {}, retries: 0 });
    attempts.on = a.on;
    return true;
  },
  attempts() {
    return { region: attempts.region, stamps: attempts.stamps, byRegion: attempts.byRegion, retries: attempts.retries };
  },
  /** `process.memoryUsage()`; with `gc`, after a full GC (the child runs with --expose-gc). */
  mem(/** @type {{ gc?: boolean }} */ a) {
    const gc = /** @type {any} */ (globalThis).gc;
    if (a.gc && typeof gc === 'function') gc();
    return process.memoryUsage();
  },
  async close() {
    diagnostics.unsubscribe(CHANNEL.attemptStart, onAttempt);
    await ops.rawClose();
    await gw?.close(1000, 0);
    return true;
  },
};

process.on('message', (/** @type {any} */ m) => {
  const op = /** @type {Record<string, (a: any) => unknown>} */ (ops)[m?.op];
  if (typeof op !== 'function') return send({ type: 'reply', id: m?.id, error: `unknown op ${m?.op}` });
  Promise.resolve()
    .then(() => op(m))
    .then(
      (result) => send({ type: 'reply', id: m.id, result }),
      (err) => send({ type: 'reply', id: m.id, error: String(err?.stack ?? err) }),
    );
});
send({ type: 'hello', pid: process.pid });
