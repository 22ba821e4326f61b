/**
 * Steady open-loop load on every gateway of the fleet bench at once: request i to gateway g is due at
 * t0 + (g / N + i) / rate whatever happened to earlier ones (the gateways' schedules are staggered, so
 * they do not all meet a dead region in the same instant), and its latency is measured from that
 * scheduled time (no coordinated omission). One undici Pool per gateway. Bounded: at most
 * `maxSeconds × rate` requests per gateway, each with a timeout.
 */
import { Pool } from 'undici';
import { summarize } from './stats.mjs';
import { mono } from './fleet-gateways.mjs';

const BODY = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
const HEADERS = { 'content-type': 'application/json' };

/**
 * @typedef {object} LoadResult
 * @property {number} at        scheduled send time (monotonic ms, `mono()`)
 * @property {number} latency   ms from the scheduled time to the end of the body
 * @property {number} status    HTTP status, 0 on a client-side error
 * @property {string} [error]   error code when status is 0
 * @property {string} [region]  x-regiongate-region of the answer
 */

/**
 * Start the load; `results[g]` fills as answers come.
 * @param {{ urls: string[], rate: number, maxSeconds: number, timeoutMs?: number }} o
 */
export function startLoad(o) {
  const timeoutMs = o.timeoutMs ?? 5000;
  const n = o.urls.length;
  const period = 1000 / o.rate;
  const limit = Math.ceil(o.maxSeconds * o.rate);
  const pools = o.urls.map(
    (url) => new Pool(url, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: timeoutMs } }),
  );
  /** @type {LoadResult[][]} */
  const results = o.urls.map(() => []);
  const sent = o.urls.map(() => 0);
  const t0 = mono() + 5;
  let inflight = 0;
  let stopped = false;
  /** @type {NodeJS.Timeout | undefined} */
  let timer;

  const due = (/** @type {number} */ g) => t0 + (g / n + sent[g]) * period;
  const fire = (/** @type {number} */ g, /** @type {number} */ at) => {
    inflight++;
    pools[g]
      .request({ path: '/v1/chat/completions', method: 'POST', headers: HEADERS, body: BODY })
      .then(async (res) => {
        const region = /** @type {string | undefined} */ (res.headers['x-regiongate-region']);
        await res.body.dump();
        return { status: res.statusCode, region };
      })
      .catch((/** @type {any} */ err) => ({ status: 0, error: String(err?.code ?? err?.name ?? 'Error') }))
      .then((r) => {
        inflight--;
        results[g].push({ at, latency: mono() - at, ...r });
      });
  };
  const tick = () => {
    timer = undefined;
    if (stopped) return;
    const now = mono();
    let next = Infinity;
    for (let g = 0; g < n; g++) {
      while (sent[g] < limit && due(g) <= now) {
        const at = due(g);
        sent[g]++;
        fire(g, at);
      }
      if (sent[g] < limit) next = Math.min(next, due(g));
    }
    if (next === Infinity) return;
    timer = setTimeout(tick, Math.max(0, next - mono()));
  };
  tick();

  return {
    results,
    /** Stop sending; wait (bounded) for answers in flight; close the pools. */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      const until = mono() + timeoutMs + 1000;
      while (inflight > 0 && mono() < until) await new Promise((r) => setTimeout(r, 10));
      await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
    },
  };
}

/**
 * Requests of one gateway scheduled within [from, to): count, errors (by kind), and the latency
 * summary of the successful ones.
 * @param {LoadResult[]} rs
 */
export function windowStats(rs, /** @type {number} */ from, /** @type {number} */ to) {
  const inWindow = rs.filter((r) => r.at >= from && r.at < to);
  const ok = inWindow.filter((r) => r.status === 200);
  /** @type {Record<string, number>} */
  const kinds = {};
  for (const r of inWindow) {
    if (r.status === 200) continue;
    const kind = r.error ?? `HTTP ${r.status}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  const s = summarize(ok.map((r) => r.latency));
  return { requests: inWindow.length, errors: inWindow.length - ok.length, errorKinds: kinds, p50: s.p50, p99: s.p99, max: s.max };
}

/**
 * Per-second buckets of every gateway's requests together (by scheduled time, from `from`): count,
 * errors, p99 and max, and the gateway with the slowest request; for finding when a spike happened.
 * @param {LoadResult[][]} results
 */
export function timeline(results, /** @type {number} */ from, bucketMs = 1000) {
  /** @type {{ latencies: number[], errors: number, worst: number, worstGateway: number }[]} */
  const buckets = [];
  results.forEach((rs, g) => {
    for (const r of rs) {
      const i = Math.floor((r.at - from) / bucketMs);
      if (i < 0) continue;
      const b = (buckets[i] ??= { latencies: [], errors: 0, worst: 0, worstGateway: -1 });
      if (r.status !== 200) b.errors++;
      else b.latencies.push(r.latency);
      if (r.latency > b.worst) [b.worst, b.worstGateway] = [r.latency, g];
    }
  });
  return Array.from(buckets, (b, i) => {
    const s = summarize(b?.latencies ?? []);
    return { t: (i * bucketMs) / 1000, n: s.count + (b?.errors ?? 0), errors: b?.errors ?? 0, p99: Number(s.p99.toFixed(2)), max: Number((b?.worst ?? 0).toFixed(2)), worstGateway: b?.worstGateway ?? -1 };
  });
}
