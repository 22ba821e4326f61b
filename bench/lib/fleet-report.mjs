/**
 * The fleet bench's tables (markdown, `table.mjs`) from the raw figures of each part. Figures only:
 * goals are printed next to them, nothing is asserted.
 */
import { summarize } from './stats.mjs';
import { windowStats } from './fleet-load.mjs';
import { int, ms, ratio } from './table.mjs';

const GOAL_P99_MS = 5;
const GOAL_RATIO = 3;
const MiB = (/** @type {number | undefined} */ b) => b === undefined ? '—' : (b / 1048576).toFixed(1);
const finite = (/** @type {(number | null | undefined)[]} */ xs) => /** @type {number[]} */ (xs.filter((x) => typeof x === 'number' && Number.isFinite(x)));

/** Propagation and raw pub/sub: the summary, per gateway, and the path stage by stage. */
export function propagationTables(/** @type {Awaited<ReturnType<typeof import('./fleet-propagation.mjs').measurePropagation>>} */ p, /** @type {string[]} */ others) {
  const allOthers = (/** @type {import('./fleet-propagation.mjs').Sample[]} */ ss) => ss.map((s) => Math.max(...s.per.map((x) => x.ms)));
  const operator = p.samples.filter((s) => s.kind === 'operator');
  const real = p.samples.filter((s) => s.kind === 'real');
  const gw = summarize(allOthers(p.samples));
  const rawAll = summarize(finite(p.raw.map((r) => (r.delays.some((d) => d === null) ? null : Math.max(...finite(r.delays))))));
  const rawEach = summarize(finite(p.raw.flatMap((r) => r.delays)));
  const row = (/** @type {string} */ name, /** @type {ReturnType<typeof summarize>} */ s) => [name, int(s.count), ms(s.p50), ms(s.p99), ms(s.max)];
  const ratioAll = gw.p99 / rawAll.p99;
  const summary = {
    title: 'Propagation: gateway 0 ejects a-0, applied on every other gateway (ms, max over the others per sample)',
    headers: ['what', 'samples', 'p50', 'p99', 'max'],
    rows: [
      row('ejection applied on every other gateway (all samples)', gw),
      row('  operator eject (admin API)', summarize(allOthers(operator))),
      row('  real detection (region a down)', summarize(allOthers(real))),
      row('bare PUBLISH→SUBSCRIBE, every other gateway heard it', rawAll),
      row('bare PUBLISH→SUBSCRIBE, one receiver', rawEach),
    ],
    notes: [
      `goal: propagation p99 ≤ ${GOAL_P99_MS} ms: ${ms(gw.p99)} ms (${gw.p99 <= GOAL_P99_MS ? 'met' : 'NOT met'})`,
      `goal: ≤ ${GOAL_RATIO}× bare pub/sub p99: ${ratio(gw.p99, rawAll.p99)} (${ratioAll <= GOAL_RATIO ? 'met' : 'NOT met'})`,
      `samples lost (not applied everywhere within 2 s): ${p.missing}; real detections were ejected for: ${[...new Set(real.map((s) => s.cause))].join(', ') || '—'}`,
      'origin: gateway 0 entering store.publish for its ejected transition; end: the other gateway emitting its ejected transition (both CLOCK_MONOTONIC)',
    ],
  };
  const perGateway = {
    title: 'Propagation per gateway (ms)',
    headers: ['gateway', 'p50', 'p99', 'max', 'applied as remote', 'bare pub/sub p50', 'bare pub/sub p99'],
    rows: others.map((id, i) => {
      const s = summarize(p.samples.map((x) => x.per[i].ms));
      const r = summarize(finite(p.raw.map((x) => x.delays[i])));
      const remote = p.samples.filter((x) => x.per[i].cause === 'remote').length;
      return [id, ms(s.p50), ms(s.p99), ms(s.max), `${remote}/${p.samples.length}`, ms(r.p50), ms(r.p99)];
    }),
  };
  const stage = (/** @type {string} */ name, /** @type {number[]} */ xs) => {
    const s = summarize(xs);
    return [name, int(s.count), ms(s.p50), ms(s.p99), ms(s.max)];
  };
  const per = p.samples.flatMap((s) => s.per);
  const path = {
    title: 'Propagation path, stage by stage (ms; every sample and receiver)',
    headers: ['stage', 'n', 'p50', 'p99', 'max'],
    rows: [
      stage('gateway 0: store.publish entered → bench transition listener (the publish call and other listeners; off the path)', finite(p.samples.map((s) => s.listenerLagMs))),
      stage('gateway 0 publish → receiver FleetView.apply (Redis, subscriber socket, parse)', finite(per.map((x) => x.toView))),
      stage('FleetView.apply → HealthTracker.applyRemote (view, trust rules)', finite(per.map((x) => x.viewToApply))),
      stage('applyRemote → ejected transition emitted', finite(per.map((x) => x.applyToTransition))),
      stage('bare PUBLISH→SUBSCRIBE between the same processes', rawEach.count ? finite(p.raw.flatMap((r) => r.delays)) : []),
    ],
  };
  return { tables: [summary, perGateway, path], figures: { gateway: gw, raw: rawAll, rawOne: rawEach, ratio: ratioAll } };
}

/** Region a dies under load: errors and first attempts per gateway. */
export function regionDeathTable(/** @type {Awaited<ReturnType<typeof import('./fleet-faults.mjs').regionDeath>>} */ d, /** @type {import('./fleet-load.mjs').LoadResult[][]} */ results) {
  return {
    title: `Region a dies under load (window ${((d.to - d.from) / 1000).toFixed(1)} s; detected first by ${d.detector ?? 'nobody'})`,
    headers: ['gateway', 'role', 'ejected a-0 as', 'after detection (ms)', 'requests', 'client errors', 'first attempts to a', 'before detection', 'after detection, before applied', 'after applied', 'left ejected'],
    rows: d.per.map((x, i) => {
      const w = windowStats(results[i], d.from, d.to);
      return [
        x.gateway,
        x.detector ? `detector (+${ms(x.detectedAfterKillMs ?? undefined, 1)} ms after the kill)` : 'other',
        x.appliedAs ?? '—',
        x.detector ? '0' : ms(x.appliedAfterMs ?? undefined),
        int(w.requests),
        int(w.errors),
        int(x.firstAttemptsToA),
        int(x.beforeDetection),
        int(x.afterDetectionBeforeApplied),
        int(x.afterApplied),
        int(x.leftEjected),
      ];
    }),
    notes: [
      '"first attempts to a" are counted in each gateway process (diagnostics channel regiongate:attempt:start, attempt 1) from the kill on',
      '"after applied": attempts while or after a-0 was ejected on that gateway, i.e. after the ejection ran out (probation re-checks); "left ejected" counts a-0 leaving the ejected state during the window',
      `region a back after the window: unejected everywhere (${d.restored.back ? 'ok' : 'TIMED OUT'}), healthy again (${d.restored.healthy ? 'ok' : 'TIMED OUT'})`,
    ],
  };
}

const storeSummary = (/** @type {any[] | undefined} */ st) => {
  if (!st) return '—';
  const c = st.filter((s) => s.connected).length;
  const d = st.filter((s) => s.degraded).length;
  return `${c}/${st.length} connected, ${d}/${st.length} degraded`;
};

/** Redis killed / paused under load, by window, all gateways pooled (and the worst gateway's p99). */
export function redisFaultsTable(/** @type {Awaited<ReturnType<typeof import('./fleet-faults.mjs').redisFaults>>} */ windows, /** @type {import('./fleet-load.mjs').LoadResult[][]} */ results) {
  const pooled = (/** @type {number} */ from, /** @type {number} */ to) => windowStats(results.flat(), from, to);
  const base = pooled(windows[0].from, windows[0].to).p99;
  return {
    title: 'Redis killed / paused under load (all gateways pooled; ms)',
    headers: ['window', 'requests', 'client errors', 'p50', 'p99', 'p99 vs before', 'worst gateway p99', 'max', 'store (GET /admin/state, mid-window)', 'reconnected after (ms)'],
    rows: windows.map((w) => {
      const s = pooled(w.from, w.to);
      const worst = Math.max(...results.map((rs) => windowStats(rs, w.from, w.to).p99));
      return [w.name, int(s.requests), int(s.errors), ms(s.p50), ms(s.p99), ratio(s.p99, base), ms(worst), ms(s.max), storeSummary(w.status), w.reconnectMs === undefined ? '' : ms(w.reconnectMs ?? undefined, 0)];
    }),
    notes: windows
      .filter((w) => w.status?.some((s) => s.degraded && s.lastError))
      .map((w) => `${w.name}: store lastError ${[...new Set((w.status ?? []).map((s) => s.lastError).filter(Boolean))].join(' | ')}`),
  };
}

/** Memory through a long Redis outage, per gateway. */
export function memoryTable(/** @type {Awaited<ReturnType<typeof import('./fleet-faults.mjs').memoryOutage>>} */ m, /** @type {string[]} */ ids, /** @type {import('./fleet-load.mjs').LoadResult[][]} */ results) {
  const outage = m.samples.filter((s) => !s.gc);
  const gcs = m.samples.filter((s) => s.gc);
  const during = windowStats(results.flat(), m.from, m.to);
  return {
    title: `Memory through a ${((m.to - m.from) / 1000).toFixed(0)} s Redis outage under load (MiB; sampled every 5 s)`,
    headers: ['gateway', 'RSS start', 'RSS end', 'RSS max', 'heapTotal start → end', 'heapUsed start', 'heapUsed end', 'heapUsed max', 'heapUsed after GC: before → end', 'store dropped (before → end)', 'published', 'store after restart'],
    rows: ids.map((id, i) => {
      const rss = outage.map((s) => s.mem[i].rss);
      const heap = outage.map((s) => s.mem[i].heapUsed);
      return [
        id,
        MiB(rss[0]),
        MiB(rss.at(-1)),
        MiB(Math.max(...rss)),
        `${MiB(outage[0].mem[i].heapTotal)} → ${MiB(outage.at(-1)?.mem[i].heapTotal)}`,
        MiB(heap[0]),
        MiB(heap.at(-1)),
        MiB(Math.max(...heap)),
        `${MiB(gcs[0].mem[i].heapUsed)} → ${MiB(gcs[1].mem[i].heapUsed)}`,
        `${m.before[i].dropped ?? '—'} → ${m.during[i].dropped ?? '—'}`,
        String(m.during[i].published ?? '—'),
        m.after[i].connected && !m.after[i].degraded ? 'connected' : `connected ${m.after[i].connected}, degraded ${m.after[i].degraded}`,
      ];
    }),
    notes: [
      `load during the outage: ${int(during.requests)} requests, ${int(during.errors)} client errors, p50 ${ms(during.p50)} ms, p99 ${ms(during.p99)} ms, max ${ms(during.max)} ms; p99 per gateway ${ids.map((id, i) => `${id} ${ms(windowStats(results[i], m.from, m.to).p99)}`).join(', ')}`,
      'heapTotal is the heap V8 has reserved (it grows under steady load whether or not Redis is up, and RSS with it); heapUsed after a forced GC is what is retained',
      `${outage.length} samples per gateway; gateway 0 ejected and unejected b-1 (no traffic) ${m.ejections} times during the outage, so it had events to publish`,
      `store reconnected ${m.reconnectMs === null ? 'NOT within 30 s' : `${ms(m.reconnectMs, 0)} ms`} after Redis restarted`,
    ],
  };
}
