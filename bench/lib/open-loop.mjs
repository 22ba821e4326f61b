/**
 * The constant-rate (open-loop) request generator, run inside the load-generator process. Request i is
 * due at t0 + i / rate whatever happened to earlier ones, and its latency is measured from that
 * scheduled time, so a stalled system is charged for every request that waited (no coordinated
 * omission). How late the generator itself sent is reported too (`lateness`).
 */
import { Pool } from 'undici';
import { summarize } from './stats.mjs';

/** With nothing in flight, a wait up to this long is slept precisely (Atomics.wait) instead of a timer. */
const PRECISE_SLEEP_MAX_MS = 3;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Block the thread for `ms` (sub-millisecond precise); only used while nothing is in flight. */
export function sleepPrecise(/** @type {number} */ ms) {
  if (ms > 0.01) Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * @typedef {object} RateJob
 * @property {string} origin
 * @property {string} path
 * @property {'GET' | 'POST'} [method]
 * @property {Record<string, string>} headers
 * @property {string} [body]
 * @property {number} rate          requests per second
 * @property {number} warmupMs      sent at the same rate first, not measured
 * @property {number} durationMs    the measured window
 * @property {number} connections   keep-alive connections of the client pool
 * @property {number} [timeoutMs]   per-request timeout (default 5000)
 */

/** A pool of keep-alive connections with the bench's timeouts. */
export function benchPool(/** @type {string} */ origin, /** @type {number} */ connections, timeoutMs = 5000) {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs },
  });
}

/** Short name of a failure, for error counts. */
export function errorKind(/** @type {Error | undefined} */ err, /** @type {number} */ status) {
  if (!err) return `HTTP ${status}`;
  return /** @type {{ code?: string }} */ (err).code ?? err.name ?? 'Error';
}

/**
 * Run one constant-rate job.
 * @param {RateJob} job
 */
export function runRate(job) {
  const timeoutMs = job.timeoutMs ?? 5000;
  const pool = benchPool(job.origin, job.connections, timeoutMs);
  const interval = 1000 / job.rate;
  const warmN = Math.round((job.warmupMs * job.rate) / 1000);
  const measuredN = Math.max(1, Math.round((job.durationMs * job.rate) / 1000));
  const total = warmN + measuredN;
  const latency = new Float64Array(measuredN);
  const lateness = new Float64Array(measuredN);
  const opts = { path: job.path, method: job.method ?? 'POST', headers: job.headers, body: job.body === undefined ? null : Buffer.from(job.body) };
  /** @type {Map<string, number>} */
  const errorKinds = new Map();
  let ok = 0;
  let errors = 0;
  let inflight = 0;
  let measuredInflight = 0;
  let sent = 0;
  let lateCount = 0;
  let finished = false;
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  /** @type {NodeJS.Immediate | undefined} */
  let immediate;

  return new Promise((resolve) => {
    const t0 = performance.now() + 5;
    const hardStop = setTimeout(() => finish(true), job.warmupMs + job.durationMs + timeoutMs + 2000);

    const done = (/** @type {boolean} */ measured, /** @type {number} */ scheduled, /** @type {number} */ status, /** @type {Error | undefined} */ err) => {
      const now = performance.now();
      inflight--;
      if (measured) {
        measuredInflight--;
        if (err === undefined && status === 200) latency[ok++] = now - scheduled;
        else {
          errors++;
          const kind = errorKind(err, status);
          errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
        }
      }
      if (finished) return;
      if (sent >= total && inflight === 0) return finish(false);
      if (inflight === 0) wake();
    };

    const send = (/** @type {number} */ i) => {
      const scheduled = t0 + i * interval;
      const measured = i >= warmN;
      if (measured) {
        lateness[lateCount++] = performance.now() - scheduled;
        measuredInflight++;
      }
      inflight++;
      let status = 0;
      pool.dispatch(opts, {
        onConnect() {},
        onHeaders(statusCode) {
          status = statusCode;
          return true;
        },
        onData() {
          return true;
        },
        onComplete() {
          done(measured, scheduled, status, undefined);
        },
        onError(err) {
          done(measured, scheduled, status, err);
        },
      });
    };

    const pump = () => {
      timer = undefined;
      immediate = undefined;
      while (!finished) {
        const now = performance.now();
        while (sent < total && t0 + sent * interval <= now) send(sent++);
        if (sent >= total) return;
        const wait = t0 + sent * interval - performance.now();
        if (inflight === 0 && wait <= PRECISE_SLEEP_MAX_MS) {
          sleepPrecise(wait);
          continue;
        }
        if (wait > 1.5) timer = setTimeout(pump, wait - 1);
        else immediate = setImmediate(pump);
        return;
      }
    };

    /** Nothing in flight: replace a coarse timer by a precise sleep. */
    const wake = () => {
      if (timer !== undefined) clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
      timer = undefined;
      immediate = setImmediate(pump);
    };

    const finish = (/** @type {boolean} */ timedOut) => {
      if (finished) return;
      finished = true;
      clearTimeout(hardStop);
      if (timer !== undefined) clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
      if (timedOut && measuredInflight > 0) {
        errors += measuredInflight;
        errorKinds.set('unfinished', (errorKinds.get('unfinished') ?? 0) + measuredInflight);
      }
      void pool.destroy().catch(() => undefined);
      resolve({
        rate: job.rate,
        scheduled: measuredN,
        ok,
        errors,
        errorKinds: Object.fromEntries(errorKinds),
        achievedRps: ok / (job.durationMs / 1000),
        latency: summarize(latency, ok),
        lateness: summarize(lateness, lateCount),
      });
    };

    timer = setTimeout(pump, 4);
  });
}
