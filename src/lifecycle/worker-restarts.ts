/**
 * When the `--workers` primary re-forks a worker that died. A worker that dies before it listens, or
 * soon after, is in a crash loop (a port in use, a bad certificate, a bug at start-up): re-forking it at
 * once, forever, burns a core and floods the log. Each worker slot backs off exponentially from
 * `baseDelayMs` to `maxDelayMs`, and after `maxQuickCrashes` quick crashes in a row the primary gives up
 * and exits 1. A worker that stayed up for `minUptimeMs` resets its slot's count.
 */

export interface WorkerRestartOptions {
  /** Delay before the first re-fork after a quick crash; doubles with each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A worker that served at least this long before dying did not crash "quickly". */
  readonly minUptimeMs: number;
  /** Quick crashes in a row, in one slot, after which the primary gives up. */
  readonly maxQuickCrashes: number;
}

export const DEFAULT_WORKER_RESTARTS: WorkerRestartOptions = {
  baseDelayMs: 100,
  maxDelayMs: 30_000,
  minUptimeMs: 5_000,
  maxQuickCrashes: 5,
};

/** What to do about a dead worker: fork another after `delayMs`, or give up (`reason` says why). */
export type RestartDecision = { readonly restart: true; readonly delayMs: number } | { readonly restart: false; readonly reason: string };

export class WorkerRestarts {
  readonly #opts: WorkerRestartOptions;
  /** Quick crashes in a row, per slot (slots are 0..workers-1: a fixed, small array, not a map). */
  readonly #quick: number[];

  constructor(slots: number, opts: WorkerRestartOptions = DEFAULT_WORKER_RESTARTS) {
    this.#opts = opts;
    this.#quick = new Array<number>(slots).fill(0);
  }

  /**
   * The worker in `slot` died after listening for `uptimeMs` (undefined: it never started listening).
   */
  exited(slot: number, uptimeMs: number | undefined): RestartDecision {
    const o = this.#opts;
    const quick = uptimeMs === undefined || uptimeMs < o.minUptimeMs;
    const n = quick ? this.#quick[slot] + 1 : 0;
    this.#quick[slot] = n;
    if (n >= o.maxQuickCrashes) {
      return { restart: false, reason: `a worker died ${n} times in a row ${uptimeMs === undefined ? 'before it was listening' : `within ${o.minUptimeMs} ms of starting`}` };
    }
    return { restart: true, delayMs: n === 0 ? 0 : Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (n - 1)) };
  }
}
