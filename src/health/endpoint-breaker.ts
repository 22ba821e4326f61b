/**
 * One long-lived opossum circuit breaker per endpoint, judging the failure percentage over a rolling
 * window. "Open" means what opossum means: an open breaker rejects traffic, so the endpoint is not
 * routable; half-open is probation; closed is normal.
 *
 * Requests are not wrapped in `fire()`: a streamed response outlives any promise opossum could time.
 * Instead each finished attempt is replayed through the breaker as a trivial action that returns for
 * a success and throws, synchronously, for a failure. That keeps opossum's own rules (volume threshold,
 * error percentage, half-open trial, re-open on a failed trial) and opens the breaker in the same tick
 * as the failure; a success closes a half-open breaker one microtask later. Outcomes that arrive while
 * opossum would reject (open, or half-open with its one trial taken) are dropped, so late stragglers
 * neither pad the window nor count as rejections. Only endpoint failures are recorded: rejections by
 * our own concurrency limits, 429s and cancelled attempts never reach the breaker.
 *
 * Timers: `timeout: false` (we time requests ourselves), `enableSnapshots: false`, percentiles off, and
 * bucket rotation driven by one shared `BucketRotator` on the injected clock (opossum #404: a timer per
 * breaker leaks with many breakers). The one timer opossum still owns is its reset timer (open →
 * half-open after `resetTimeout`), a real, unref'd `setTimeout` that `close()` clears.
 */
import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { BreakerOptions } from './health-options.js';

export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

/**
 * The shared rolling-window clock: one interval on the injected clock emits opossum's `rotate` event
 * to every breaker (opossum's `rotateBucketController`).
 */
export class BucketRotator {
  /** Passed to opossum as `rotateBucketController`. */
  readonly controller = new EventEmitter();
  readonly #clock: Clock;
  readonly #timer: TimerHandle;

  constructor(clock: Clock, options: Pick<BreakerOptions, 'window' | 'buckets'>) {
    this.#clock = clock;
    this.controller.setMaxListeners(0); // one listener per breaker, by design
    this.#timer = clock.setInterval(() => this.controller.emit('rotate'), Math.max(1, Math.floor(options.window / options.buckets)));
    this.#timer.unref();
  }

  close(): void {
    this.#clock.clearInterval(this.#timer);
    this.controller.removeAllListeners();
  }
}

/** Thrown (never allocated per call) by the replay action for a failed attempt. */
const ATTEMPT_FAILED = Object.assign(new Error('endpoint attempt failed'), { code: 'RG_BREAKER_ATTEMPT_FAILED' });
const SUCCEEDED: Promise<boolean> = Promise.resolve(true);

function replayOutcome(ok: boolean): Promise<boolean> {
  if (!ok) throw ATTEMPT_FAILED;
  return SUCCEEDED;
}

function ignore(): void {}

export interface EndpointBreakerInit {
  readonly endpoint: Endpoint;
  readonly options: BreakerOptions;
  readonly rotator: BucketRotator;
  /** Called after every state change, with the new state. */
  readonly onStateChange?: (state: BreakerState) => void;
}

/** Breaker window counts, for snapshots. */
export interface BreakerCounts {
  readonly fires: number;
  readonly failures: number;
  readonly successes: number;
}

export class EndpointBreaker {
  readonly endpoint: Endpoint;
  readonly #breaker: CircuitBreaker<[boolean], boolean>;

  constructor(init: EndpointBreakerInit) {
    this.endpoint = init.endpoint;
    const o = init.options;
    this.#breaker = new CircuitBreaker(replayOutcome, {
      name: init.endpoint.id,
      group: init.endpoint.region,
      timeout: false,
      volumeThreshold: o.volumeThreshold,
      errorThresholdPercentage: o.errorThresholdPercentage,
      resetTimeout: o.resetTimeout,
      rollingCountTimeout: o.window,
      rollingCountBuckets: o.buckets,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: init.rotator.controller,
    });
    const notify = init.onStateChange;
    if (notify) {
      this.#breaker.on('open', () => notify('open'));
      this.#breaker.on('halfOpen', () => notify('half_open'));
      this.#breaker.on('close', () => notify('closed'));
    }
  }

  /** Record one finished attempt: `true` for a success, `false` for an endpoint failure. */
  record(ok: boolean): void {
    const b = this.#breaker;
    if (b.isShutdown || (!b.closed && !b.pendingClose)) return;
    b.fire(ok).then(ignore, ignore);
  }

  get state(): BreakerState {
    const b = this.#breaker;
    return b.opened ? 'open' : b.halfOpen ? 'half_open' : 'closed';
  }

  /** False while the breaker is open (it rejects traffic). */
  get routable(): boolean {
    return !this.#breaker.opened;
  }

  counts(): BreakerCounts {
    const s = this.#breaker.stats;
    return { fires: s.fires, failures: s.failures, successes: s.successes };
  }

  /** Shut the breaker down: its reset timer, its rotate listener and its listeners. */
  close(): void {
    if (!this.#breaker.isShutdown) this.#breaker.shutdown();
  }
}
