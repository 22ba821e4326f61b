/**
 * Fleet bench, parts 2–4, all under the steady load of `fleet-load.mjs` (latency figures are computed
 * from the load's results afterwards, by window):
 *   regionDeath   region a's simulator goes `down`; which gateway detects it, and how many first
 *                 attempts each gateway sent to region a before and after that detection
 *   redisFaults   Redis SIGKILLed (then restarted on its port) and SIGSTOPped (then SIGCONT), with
 *                 windows before, during and after, and the stores' status from `GET /admin/state`
 *   memoryOutage  Redis down for a long time: each gateway's RSS and heap every 5 s, and the store's
 *                 `dropped` count (gateway 0 ejects and unejects an idle endpoint every 5 s, so
 *                 there is something to publish)
 */
import { adminAction, mono, sleep, stateOf, storeStatuses, waitConnected, waitFor } from './fleet-gateways.mjs';

const ENDPOINT = 'a-0';

/** Uneject `ENDPOINT` everywhere (the detector first) and wait until it is healthy again (bounded). */
async function restoreRegionA(/** @type {import('./fleet-gateways.mjs').FleetGateway[]} */ gws, first = gws[0]) {
  for (const g of [first, ...gws.filter((x) => x !== first)]) await adminAction(g, 'uneject', ENDPOINT).catch(() => undefined);
  const back = await waitFor(() => gws.every((g) => stateOf(g, ENDPOINT) !== 'ejected'), 20_000);
  // Probation ends after its window (10 s by default); the next part starts from full health.
  const healthy = await waitFor(() => gws.every((g) => stateOf(g, ENDPOINT) === 'healthy'), 20_000);
  return { back, healthy };
}

/**
 * Region a dies under load.
 * @param {{ gws: import('./fleet-gateways.mjs').FleetGateway[], simA: any, deadMs: number }} o
 */
export async function regionDeath(o) {
  const { gws } = o;
  await Promise.all(gws.map((g) => g.call('record', { on: true, region: 'a' })));
  // Traces give the detection time where the fleet code publishes it (see fleet-propagation.mjs).
  await Promise.all(gws.map((g) => g.call('trace', { on: true })));
  const marks = gws.map((g) => g.transitions.length);
  const traceMarks = gws.map((g) => g.traces.length);
  const killNs = process.hrtime.bigint();
  const from = mono();
  await o.simA.setFault({ mode: 'down' });
  await sleep(o.deadMs);
  const to = mono();
  await Promise.all(gws.map((g) => g.call('record', { on: false })));
  await Promise.all(gws.map((g) => g.call('trace', { on: false })));
  const recorded = await Promise.all(gws.map((g) => g.call('attempts')));
  await o.simA.setFault({ mode: 'none' });

  /** @type {{ g: typeof gws[number], t: import('./fleet-gateways.mjs').Transition }[]} */
  const local = [];
  for (const g of gws) {
    const t = g.transitions.slice(marks[g.index]).find((x) => x.endpointId === ENDPOINT && x.to === 'ejected' && x.cause !== 'remote');
    if (t) local.push({ g, t });
  }
  local.sort((a, b) => (a.t.ns < b.t.ns ? -1 : 1));
  const detector = local[0]?.g;
  // The detector's own listener runs after its publish (and may be preempted in between): when it was
  // traced, the publish stamp is the detection time.
  const published = detector?.traces.slice(traceMarks[detector.index]).find((x) => x.stage === 'publish' && x.endpointId === ENDPOINT && x.event === 'ejected');
  const detectNs = published && local[0] && published.ns < local[0].t.ns ? published.ns : local[0]?.t.ns;
  const per = gws.map((g, i) => {
    const since = g.transitions.slice(marks[g.index]).filter((t) => t.endpointId === ENDPOINT);
    const applied = since.find((t) => t.to === 'ejected');
    const stamps = /** @type {string[]} */ (recorded[i].stamps).map((s) => BigInt(s)).filter((ns) => ns >= killNs);
    const beforeDetection = detectNs === undefined ? stamps.length : stamps.filter((ns) => ns < detectNs).length;
    const beforeApplied = applied ? stamps.filter((ns) => ns < applied.ns).length : stamps.length;
    return {
      gateway: g.id,
      detector: g === detector,
      appliedAs: applied ? applied.cause : null,
      appliedAfterMs: applied && detectNs !== undefined ? Number(applied.ns - detectNs) / 1e6 : null,
      detectedAfterKillMs: g === detector && detectNs !== undefined ? Number(detectNs - killNs) / 1e6 : null,
      firstAttemptsToA: stamps.length,
      beforeDetection,
      afterDetectionBeforeApplied: Math.max(0, beforeApplied - beforeDetection),
      afterApplied: stamps.length - beforeApplied,
      leftEjected: since.filter((t) => t.from === 'ejected' && t.to !== 'ejected').length,
      transitions: since.map((t) => `${t.from}→${t.to} (${t.cause}) +${(Number(t.ns - killNs) / 1e6).toFixed(1)} ms`),
    };
  });
  const restored = await restoreRegionA(gws, detector);
  return { from, to, detector: detector?.id ?? null, per, restored };
}

/**
 * Redis killed, restarted, paused and resumed under load.
 * @param {{ gws: import('./fleet-gateways.mjs').FleetGateway[], redis: Awaited<ReturnType<typeof import('./fleet-redis.mjs').startRedis>>, windowMs: number, log: (s: string) => void }} o
 */
export async function redisFaults(o) {
  const { gws, redis, windowMs: w } = o;
  /** @type {{ name: string, from: number, to: number, status?: any[], reconnectMs?: number | null }[]} */
  const windows = [];
  const timed = async (/** @type {string} */ name, /** @type {() => Promise<void>} */ midway = async () => {}) => {
    const from = mono();
    await sleep(w / 2);
    const status = await storeStatuses(gws);
    await midway();
    await sleep(Math.max(0, from + w - mono()));
    const win = { name, from, to: mono(), status };
    windows.push(win);
    return win;
  };
  const reconnect = async () => {
    const t = mono();
    const ok = await waitConnected(gws, 20_000);
    return ok ? mono() - t : null;
  };

  await timed('before');
  o.log('fleet: Redis SIGKILL…');
  await redis.kill();
  await timed('Redis killed (SIGKILL)');
  await redis.restart();
  const afterKill = await reconnect();
  await timed('after restart');
  windows[windows.length - 1].reconnectMs = afterKill;
  o.log('fleet: Redis SIGSTOP…');
  redis.pause();
  await timed('Redis paused (SIGSTOP)');
  redis.resume();
  const afterPause = await reconnect();
  await timed('after SIGCONT');
  windows[windows.length - 1].reconnectMs = afterPause;
  return windows;
}

/**
 * Redis down for `outageMs` under load; memory every `everyMs`.
 * @param {{ gws: import('./fleet-gateways.mjs').FleetGateway[], redis: Awaited<ReturnType<typeof import('./fleet-redis.mjs').startRedis>>, outageMs: number, everyMs: number, log: (s: string) => void }} o
 */
export async function memoryOutage(o) {
  const { gws, redis } = o;
  /** @type {{ t: number, gc: boolean, mem: NodeJS.MemoryUsage[] }[]} */
  const samples = [];
  const sample = async (/** @type {number} */ t0, gc = false) =>
    samples.push({ t: Math.round(mono() - t0), gc, mem: await Promise.all(gws.map((g) => g.call('mem', { gc }))) });

  const before = await storeStatuses(gws);
  const start = mono();
  await sample(start, true);
  await sleep(200); // the forced GC's pause stays out of the outage window
  await sample(start);
  await redis.kill();
  const from = mono();
  let ejections = 0;
  for (let i = 1; mono() - from < o.outageMs && i <= Math.ceil(o.outageMs / o.everyMs) + 1; i++) {
    await sleep(Math.max(0, from + i * o.everyMs - mono()));
    if (mono() - from > o.outageMs + 100) break;
    // Something to publish while Redis is gone: an idle endpoint out and back on gateway 0.
    await adminAction(gws[0], 'eject', 'b-1');
    await adminAction(gws[0], 'uneject', 'b-1');
    ejections++;
    await sample(start);
    if (i % 6 === 0) o.log(`fleet: outage ${Math.round((mono() - from) / 1000)} s`);
  }
  const to = mono();
  const during = await storeStatuses(gws);
  await sleep(200); // requests scheduled in the window finish before the forced GC below
  await sample(start, true);
  await redis.restart();
  const t = mono();
  const connected = await waitConnected(gws, 30_000);
  const reconnectMs = connected ? mono() - t : null;
  const after = await storeStatuses(gws);
  await sample(start, true);
  return { from, to, samples, before, during, after, reconnectMs, ejections };
}
