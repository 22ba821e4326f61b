/**
 * SSE load, run inside the load-generator process. A frame is one event ending in a blank line
 * ("\n\n"); a frame's time is when the chunk carrying its end arrived. Time to first byte is measured
 * from the stream's scheduled start to its first frame; gaps are between consecutive frames; a stall
 * is a gap longer than twice the pace.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { benchPool, errorKind } from './open-loop.mjs';
import { summarize } from './stats.mjs';

const LF = 0x0a;

/**
 * Parses frame ends out of body chunks and records their times.
 */
class FrameClock {
  /** @param {(t: number) => void} onFrame */
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.lastWasLf = false;
    this.frames = 0;
  }

  /** @param {Buffer} chunk @param {number} t */
  push(chunk, t) {
    let prev = this.lastWasLf;
    for (let i = 0; i < chunk.length; i++) {
      const lf = chunk[i] === LF;
      if (lf && prev) {
        this.frames++;
        this.onFrame(t);
        prev = false;
        continue;
      }
      prev = lf;
    }
    this.lastWasLf = prev;
  }
}

/**
 * @typedef {object} StreamJob
 * @property {string} origin
 * @property {string} path
 * @property {'GET' | 'POST'} [method]
 * @property {Record<string, string>} headers
 * @property {string} [body]
 * @property {number} streamRate    streams started per second (open loop)
 * @property {number} warmupMs
 * @property {number} durationMs
 * @property {number} connections
 * @property {number} expectFrames  frames each stream must deliver (the rest, e.g. [DONE], is ignored)
 * @property {number} paceMs        the target's frame pace
 * @property {number} [timeoutMs]
 */

/**
 * Streams started at a constant rate; per stream: time to first frame and the gaps between frames.
 * @param {StreamJob} job
 */
export function runStreams(job) {
  const timeoutMs = job.timeoutMs ?? 10_000;
  const pool = benchPool(job.origin, job.connections, timeoutMs);
  const interval = 1000 / job.streamRate;
  const warmN = Math.round((job.warmupMs * job.streamRate) / 1000);
  const total = warmN + Math.max(1, Math.round((job.durationMs * job.streamRate) / 1000));
  const opts = { path: job.path, method: job.method ?? 'POST', headers: job.headers, body: job.body === undefined ? null : Buffer.from(job.body) };
  /** @type {number[]} */
  const ttfb = [];
  /** @type {number[]} */
  const gaps = [];
  /** @type {number[]} */
  const lateness = [];
  /** @type {Map<string, number>} */
  const errorKinds = new Map();
  let stalls = 0;
  let ok = 0;
  let errors = 0;
  let inflight = 0;
  let measuredInflight = 0;
  let sent = 0;
  let finished = false;

  return new Promise((resolve) => {
    const t0 = performance.now() + 5;
    const streamMs = job.expectFrames * job.paceMs;
    const hardStop = setTimeout(() => finish(), job.warmupMs + job.durationMs + streamMs + timeoutMs + 2000);
    /** @type {NodeJS.Timeout | undefined} */
    let timer;

    const fail = (/** @type {boolean} */ measured, /** @type {string} */ kind) => {
      if (!measured) return;
      errors++;
      errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
    };

    const start = (/** @type {number} */ i) => {
      const scheduled = t0 + i * interval;
      const measured = i >= warmN;
      if (measured) lateness.push(performance.now() - scheduled);
      let last = 0;
      /** @type {number[]} */
      const myGaps = [];
      let first = NaN;
      let myStalls = 0;
      const clock = new FrameClock((t) => {
        const n = clock.frames;
        if (n === 1) first = t - scheduled;
        else if (n <= job.expectFrames) {
          const gap = t - last;
          myGaps.push(gap);
          if (gap > 2 * job.paceMs) myStalls++;
        }
        last = t;
      });
      inflight++;
      if (measured) measuredInflight++;
      let status = 0;
      const end = () => {
        inflight--;
        if (measured) measuredInflight--;
        if (!finished && sent >= total && inflight === 0) finish();
      };
      pool.dispatch(opts, {
        onConnect() {},
        onHeaders(statusCode) {
          status = statusCode;
          return true;
        },
        onData(chunk) {
          clock.push(chunk, performance.now());
          return true;
        },
        onComplete() {
          if (measured) {
            if (status !== 200) fail(true, errorKind(undefined, status));
            else if (clock.frames < job.expectFrames) fail(true, `short stream (${clock.frames} frames)`);
            else {
              ok++;
              ttfb.push(first);
              for (const g of myGaps) gaps.push(g);
              stalls += myStalls;
            }
          }
          end();
        },
        onError(err) {
          fail(measured, errorKind(err, status));
          end();
        },
      });
    };

    const pump = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) start(sent++);
      if (sent < total) timer = setTimeout(pump, Math.max(0, t0 + sent * interval - performance.now()));
    };

    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(hardStop);
      if (timer !== undefined) clearTimeout(timer);
      for (let i = 0; i < measuredInflight; i++) fail(true, 'unfinished');
      void pool.destroy().catch(() => undefined);
      resolve({
        streams: total - warmN,
        ok,
        errors,
        errorKinds: Object.fromEntries(errorKinds),
        ttfb: summarize(ttfb),
        gap: summarize(gaps),
        stalls,
        lateness: summarize(lateness),
      });
    };

    timer = setTimeout(pump, 4);
  });
}

/**
 * @typedef {object} HoldJob
 * @property {string} origin
 * @property {string} path          a path whose streams outlast ramp + hold (e.g. /sse-echo?frames=N&interval=MS)
 * @property {Record<string, string>} headers
 * @property {number} streams       concurrent streams to hold
 * @property {number} rampPerSec    streams opened per second
 * @property {number} holdMs        the measured window once all are open
 * @property {number} paceMs
 * @property {number} [openTimeoutMs]  give up waiting for the last streams to open after this
 * @property {number} [maxPendingOpens]  streams asked for but not answered yet, at most (default 256):
 *   a ramp faster than the system accepts would only measure SYN drops and retries
 */

/**
 * Open `streams` long SSE streams (one connection each), hold them `holdMs`, count stalls in that
 * window, then cut them all. `notify` is told when all are open (`held`) so the bench can sample the
 * system's memory and CPU, and when the window ends (`hold-end`).
 * @param {HoldJob} job
 * @param {(event: Record<string, unknown>) => void} notify
 */
export function holdStreams(job, notify) {
  const pool = benchPool(job.origin, job.streams, 30_000);
  const interval = 1000 / job.rampPerSec;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  /** @type {Map<string, number>} */
  const errorKinds = new Map();
  /** @type {number[]} */
  const holdGaps = [];
  /** Per open stream: the time of its last frame (a stream silent at the window's end is a stall too). */
  /** @type {{ last: number, open: boolean }[]} */
  const states = [];
  let opened = 0;
  let failed = 0;
  let sent = 0;
  let pending = 0;
  const maxPending = job.maxPendingOpens ?? 256;
  let stalls = 0;
  let cut = 0;
  let holdStart = Infinity;
  let holdEnd = Infinity;
  let framesInHold = 0;
  /** @type {((value: unknown) => void) | undefined} */
  let resolveJob;
  /** Set when the window closed and the streams are cut on purpose. */
  let ended = false;

  const inWindow = (/** @type {number} */ t) => t >= holdStart && t <= holdEnd;

  const start = () => {
    const state = { last: NaN, open: false };
    states.push(state);
    let isOpen = false;
    let status = 0;
    const clock = new FrameClock((t) => {
      if (inWindow(t)) {
        framesInHold++;
        if (state.last >= holdStart) {
          const gap = t - state.last;
          holdGaps.push(gap);
          if (gap > 2 * job.paceMs) stalls++;
        }
      }
      state.last = t;
    });
    pool.dispatch({ path: job.path, method: 'GET', headers: job.headers }, {
      onConnect() {},
      onHeaders(statusCode) {
        status = statusCode;
        pending--;
        if (status === 200) {
          isOpen = true;
          state.open = true;
          opened++;
          if (opened + failed === job.streams) beginHold();
        }
        return true;
      },
      onData(chunk) {
        clock.push(chunk, performance.now());
        return true;
      },
      onComplete() {
        if (ended) return;
        if (status === 0) pending--;
        if (!isOpen) countFailure(errorKind(undefined, status));
        else if (performance.now() < holdEnd) cut++;
      },
      onError(err) {
        if (ended) return;
        if (status === 0) pending--;
        if (!isOpen) countFailure(errorKind(err, status));
        else if (performance.now() < holdEnd) cut++;
      },
    });
  };

  const countFailure = (/** @type {string} */ kind) => {
    failed++;
    errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
    if (opened + failed === job.streams) beginHold();
  };

  const beginHold = () => {
    if (holdStart !== Infinity) return;
    holdStart = performance.now();
    holdEnd = holdStart + job.holdMs;
    loop.reset();
    loop.enable();
    notify({ type: 'held', opened, failed });
    setTimeout(endHold, job.holdMs + 5);
  };

  const endHold = () => {
    loop.disable();
    let silent = 0;
    for (const st of states) if (st.open && !(st.last >= holdEnd - 2 * job.paceMs)) silent++;
    stalls += silent;
    notify({ type: 'hold-end' });
    const result = {
      streams: job.streams,
      opened,
      failed,
      errorKinds: Object.fromEntries(errorKinds),
      cutDuringHold: cut,
      stalls,
      silentAtEnd: silent,
      framesInHold,
      gap: summarize(holdGaps),
      clientLoopDelayMaxMs: loop.max / 1e6,
      clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
      openMs: holdStart - t0,
    };
    ended = true;
    void pool.destroy().catch(() => undefined);
    resolveJob?.(result);
  };

  const t0 = performance.now();
  const pump = () => {
    const now = performance.now();
    while (sent < job.streams && t0 + sent * interval <= now && pending < maxPending) {
      sent++;
      pending++;
      start();
    }
    if (sent < job.streams && !ended) setTimeout(pump, pending >= maxPending ? 5 : Math.max(1, t0 + sent * interval - performance.now()));
  };
  const openDeadline = (job.streams / job.rampPerSec) * 1000 + (job.openTimeoutMs ?? 20_000);
  const openTimer = setTimeout(beginHold, openDeadline);

  return new Promise((resolve) => {
    resolveJob = (r) => {
      clearTimeout(openTimer);
      resolve(r);
    };
    pump();
  });
}
