/**
 * Active probes (Envoy: active health checking). Each endpoint is probed on its own chain of timers
 * on the injected clock: the next probe is scheduled only once the current one has a verdict (answer,
 * error or timeout), `interval` later give or take `jitter`, so a probe never overlaps with itself. The
 * first probes are spread uniformly over the first interval.
 *
 * The timeout is ours: a timer plus an `AbortController`. When it fires the probe counts as failed at
 * once and is aborted; should a probe function ignore the abort and still be pending at the next
 * round, that round counts as another failure and no second request is started.
 *
 * Endpoints start up (optimistic; passive detection covers the first seconds). `unhealthyThreshold`
 * consecutive failures mark one down, `healthyThreshold` consecutive successes bring it back up;
 * `onChange` hears each flip. `close()` clears every timer and aborts probes in flight.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Endpoint } from '../registry/endpoint.js';
import { MIN_PROBE_INTERVAL, type ProbeOptions } from './health-options.js';
import { isGatewayOwnFailure } from './classify-failure.js';
import type { ProbeFn } from './http-probe.js';

/** Why a probe failed. */
export type ProbeError = 'status' | 'timeout' | 'error';

export interface ProbeResult {
  readonly endpoint: Endpoint;
  readonly ok: boolean;
  readonly status: number | undefined;
  readonly error: ProbeError | undefined;
}

/** One endpoint's probe state, for snapshots and tests. */
export interface ProbeStatus {
  readonly up: boolean;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  readonly probes: number;
  readonly lastStatus: number | undefined;
  readonly lastError: ProbeError | undefined;
}

export interface ProberInit {
  readonly endpoints: readonly Endpoint[];
  readonly clock: Clock;
  readonly random: Random;
  readonly options: Omit<ProbeOptions, 'probes' | 'path'>;
  readonly probe: ProbeFn;
  /** An endpoint went down (`false`) or came back up (`true`). */
  readonly onChange?: (endpoint: Endpoint, up: boolean) => void;
  /** Every probe verdict. */
  readonly onResult?: (result: ProbeResult) => void;
}

interface ProbeTarget {
  readonly endpoint: Endpoint;
  readonly run: () => void;
  up: boolean;
  successes: number;
  failures: number;
  probes: number;
  lastStatus: number | undefined;
  lastError: ProbeError | undefined;
  timer: TimerHandle | undefined;
  timeoutTimer: TimerHandle | undefined;
  controller: AbortController | undefined;
  /** A request is outstanding (its promise has not settled). */
  running: boolean;
  /** The outstanding request has no verdict yet (no answer, no timeout). */
  awaiting: boolean;
  /** Removed by a config reload: a late settle neither judges nor reschedules. */
  removed: boolean;
}

export class Prober {
  readonly #init: ProberInit;
  #options: ProberInit['options'];
  readonly #targets = new Map<string, ProbeTarget>();
  #started = false;
  #closed = false;

  constructor(init: ProberInit) {
    this.#init = init;
    this.#options = init.options;
    for (const endpoint of init.endpoints) this.#targets.set(endpoint.id, this.#target(endpoint));
  }

  /**
   * New cadence, timeout and thresholds (a config reload). A probe waiting for its turn is rescheduled
   * within the new interval (a shorter one applies now, not after the old wait); one in flight finishes.
   */
  configure(options: ProberInit['options']): void {
    const before = this.#interval();
    this.#options = options;
    if (!this.#started || this.#closed || this.#interval() === before) return;
    for (const t of this.#targets.values()) {
      if (t.timer === undefined || t.running) continue;
      this.#init.clock.clearTimeout(t.timer);
      this.#schedule(t, this.#init.random() * this.#interval());
    }
  }

  /** Probe `endpoint` too (added by a config reload); it starts at once, with jitter, when probing runs. */
  add(endpoint: Endpoint): void {
    this.remove(endpoint.id);
    const t = this.#target(endpoint);
    this.#targets.set(endpoint.id, t);
    if (this.#started && !this.#closed) this.#schedule(t, this.#init.random() * this.#interval());
  }

  /** Stop probing endpoint `id` (removed by a config reload): its timers cleared, a probe in flight aborted. */
  remove(id: string): void {
    const t = this.#targets.get(id);
    if (t === undefined) return;
    this.#targets.delete(id);
    this.#stop(t);
  }

  #target(endpoint: Endpoint): ProbeTarget {
    const target: ProbeTarget = {
      endpoint,
      run: () => this.#run(target),
      up: true,
      successes: 0,
      failures: 0,
      probes: 0,
      lastStatus: undefined,
      lastError: undefined,
      timer: undefined,
      timeoutTimer: undefined,
      controller: undefined,
      running: false,
      awaiting: false,
      removed: false,
    };
    return target;
  }

  /** Start probing every endpoint. Idempotent; a no-op after `close()`. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const t of this.#targets.values()) this.#schedule(t, this.#init.random() * this.#interval());
  }

  /** Whether the probes currently consider `endpoint` up. */
  isUp(endpoint: Endpoint): boolean {
    return this.#targets.get(endpoint.id)?.up ?? false;
  }

  status(endpoint: Endpoint): ProbeStatus | undefined {
    const t = this.#targets.get(endpoint.id);
    if (!t) return undefined;
    const { up, successes, failures, probes, lastStatus, lastError } = t;
    return { up, consecutiveSuccesses: successes, consecutiveFailures: failures, probes, lastStatus, lastError };
  }

  /** Stop: clear every timer and abort probes in flight. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#targets.values()) this.#stop(t);
  }

  #stop(t: ProbeTarget): void {
    const clock = this.#init.clock;
    t.removed = true;
    clock.clearTimeout(t.timer);
    clock.clearTimeout(t.timeoutTimer);
    t.timer = t.timeoutTimer = undefined;
    t.controller?.abort();
  }

  #schedule(t: ProbeTarget, delay: number): void {
    if (this.#closed || t.removed) return;
    t.timer = this.#init.clock.setTimeout(t.run, delay);
    t.timer.unref();
  }

  #interval(): number {
    return Math.max(MIN_PROBE_INTERVAL, this.#options.interval);
  }

  #nextDelay(): number {
    const jitter = Math.min(1, Math.max(0, this.#options.jitter));
    return this.#interval() * (1 + jitter * (2 * this.#init.random() - 1));
  }

  #run(t: ProbeTarget): void {
    t.timer = undefined;
    if (this.#closed || t.removed) return;
    if (t.running) {
      // The previous request ignored its abort: never overlap, count the round as a timeout.
      this.#verdict(t, undefined, 'timeout');
      return;
    }
    const { clock, probe } = this.#init;
    const options = this.#options;
    const controller = new AbortController();
    t.controller = controller;
    t.running = t.awaiting = true;
    t.timeoutTimer = clock.setTimeout(() => {
      t.timeoutTimer = undefined;
      if (!t.awaiting) return;
      t.awaiting = false;
      controller.abort();
      this.#verdict(t, undefined, 'timeout');
    }, options.timeout);
    t.timeoutTimer.unref();
    let pending: Promise<number>;
    try {
      pending = probe(t.endpoint, controller.signal);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (status) => this.#settle(t, status),
      (err: unknown) => {
        // The gateway's own trouble (out of ports or descriptors, shutting down) says nothing of the
        // endpoint: no verdict, probe again next round. Any other rejection is a failed check.
        if (isGatewayOwnFailure(err)) return this.#noVerdict(t);
        this.#settle(t, undefined);
      },
    );
  }

  #noVerdict(t: ProbeTarget): void {
    t.running = false;
    t.controller = undefined;
    if (this.#closed || t.removed || !t.awaiting) return;
    t.awaiting = false;
    this.#init.clock.clearTimeout(t.timeoutTimer);
    t.timeoutTimer = undefined;
    this.#schedule(t, this.#nextDelay());
  }

  #settle(t: ProbeTarget, status: number | undefined): void {
    t.running = false;
    t.controller = undefined;
    if (this.#closed || t.removed || !t.awaiting) return; // closed, removed, or already judged by the timeout
    t.awaiting = false;
    this.#init.clock.clearTimeout(t.timeoutTimer);
    t.timeoutTimer = undefined;
    if (status === undefined) this.#verdict(t, undefined, 'error');
    else this.#verdict(t, status, this.#options.expectedStatus.includes(status) ? undefined : 'status');
  }

  #verdict(t: ProbeTarget, status: number | undefined, error: ProbeError | undefined): void {
    const { onChange, onResult } = this.#init;
    const options = this.#options;
    const ok = error === undefined;
    t.probes++;
    t.lastStatus = status;
    t.lastError = error;
    let flipped = false;
    if (ok) {
      t.successes++;
      t.failures = 0;
      if (!t.up && t.successes >= options.healthyThreshold) flipped = t.up = true;
    } else {
      t.failures++;
      t.successes = 0;
      if (t.up && t.failures >= options.unhealthyThreshold) {
        t.up = false;
        flipped = true;
      }
    }
    this.#schedule(t, this.#nextDelay());
    onResult?.({ endpoint: t.endpoint, ok, status, error });
    if (flipped) onChange?.(t.endpoint, t.up);
  }
}
