/**
 * Drives every endpoint's health layers (`endpoint-state.ts`) on the injected clock: applies each
 * change (ejection with backoff, rate limit, drain, drill, probe verdict, breaker state, a peer's
 * report), keeps at most one timer per endpoint (its next expiry), and emits a `HealthTransition`
 * whenever a state changes. No I/O; `close()` clears every timer.
 *
 * Local expiries run on `Clock.monotonic()`: an NTP step of the wall clock must not end an ejection
 * early or hold it for an hour. Epoch times (`until` given by callers and peers) are converted here,
 * at the boundary, with the wall clock's reading of the moment.
 */
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { BreakerState } from './endpoint-breaker.js';
import * as rules from './endpoint-state.js';
import type { HealthOptions } from './health-options.js';
import type { TransitionCause, TransitionEmitter } from './health-transition.js';
import { ejectionTime } from './outlier-detector.js';

export interface HealthStateMachineInit {
  readonly endpoints: readonly Endpoint[];
  readonly clock: Clock;
  readonly random: Random;
  readonly options: HealthOptions;
  readonly emitter: TransitionEmitter;
  /** Called on every ejection (the tracker resets the outlier counters). */
  readonly onEject?: (endpoint: Endpoint) => void;
}

export class HealthStateMachine {
  readonly #clock: Clock;
  readonly #random: Random;
  #options: HealthOptions;
  readonly #emitter: TransitionEmitter;
  readonly #onEject: ((endpoint: Endpoint) => void) | undefined;
  readonly #records = new Map<string, rules.EndpointHealth>();
  #closed = false;

  constructor(init: HealthStateMachineInit) {
    this.#clock = init.clock;
    this.#random = init.random;
    this.#options = init.options;
    this.#emitter = init.emitter;
    this.#onEject = init.onEject;
    const now = init.clock.monotonic();
    for (const endpoint of init.endpoints) {
      const h: rules.EndpointHealth = rules.createEndpointHealth(endpoint, now, () => this.#onTimer(h));
      this.#records.set(endpoint.id, h);
    }
  }

  /**
   * New settings (a config reload): ejection times and rate limits apply to the next ones (one in course
   * keeps its end); a probation in course ends by the new window, re-evaluated now (as its timer would).
   */
  configure(options: HealthOptions): void {
    this.#options = options;
    for (const h of this.#records.values()) this.#update(h, 'recovered');
  }

  /**
   * Track `endpoint`, added by a config reload: it starts in probation (a ramped, bounded trickle) since
   * nothing is known of it yet. A record already held under its id is replaced.
   */
  add(endpoint: Endpoint): rules.EndpointHealth {
    this.remove(endpoint.id);
    const now = this.#clock.monotonic();
    const h: rules.EndpointHealth = rules.createEndpointHealth(endpoint, now, () => this.#onTimer(h));
    h.probationSince = now;
    this.#records.set(endpoint.id, h);
    this.#update(h, 'added');
    return h;
  }

  /** Forget endpoint `id` (removed by a config reload) and clear its timer. */
  remove(id: string): void {
    const h = this.#records.get(id);
    if (h === undefined) return;
    this.#clock.clearTimeout(h.timer);
    h.timer = undefined;
    this.#records.delete(id);
  }

  /** Every endpoint's record. */
  records(): IterableIterator<rules.EndpointHealth> {
    return this.#records.values();
  }

  /** The record of endpoint `id` (O(1)); undefined when unknown. */
  get(id: string): rules.EndpointHealth | undefined {
    return this.#records.get(id);
  }

  /**
   * Eject until `untilEpoch` (epoch ms) when given, else for the next backed-off ejection time: the
   * ejection count first forgets one ejection per `backoffDecay` spent healthy.
   */
  eject(h: rules.EndpointHealth, cause: TransitionCause, untilEpoch?: number): void {
    const now = this.#clock.monotonic();
    let until = untilEpoch === undefined ? undefined : this.#toMonotonic(untilEpoch);
    if (until === undefined) {
      const o = this.#options.outlier;
      if (h.state === 'healthy') h.ejections = Math.max(0, h.ejections - Math.floor((now - h.healthySince) / o.backoffDecay));
      h.ejections++;
      until = now + ejectionTime(o, h.ejections, this.#random);
    }
    if (until <= now || this.#closed) return;
    // A peer's report never relabels an ejection of our own: ours keeps being asserted to the fleet,
    // and a later lift of the peer's report must not end it.
    const ownEjection = h.ejectedUntil > now && h.ejectCause !== 'remote';
    h.ejectedUntil = Math.max(h.ejectedUntil, until);
    if (!(cause === 'remote' && ownEjection)) h.ejectCause = cause;
    h.probationSince = -1;
    this.#onEject?.(h.endpoint);
    this.#update(h, cause);
  }

  /** End a timed ejection now (an open breaker or failing probes still hold the endpoint). */
  uneject(h: rules.EndpointHealth, cause: TransitionCause): void {
    h.ejectedUntil = 0;
    this.#update(h, cause);
  }

  /** Skip the endpoint for Retry-After, clamped to `rateLimit.min..max`; never shortens a skip. */
  rateLimit(h: rules.EndpointHealth, retryAfterMs: number): void {
    const { min, max } = this.#options.rateLimit;
    const until = this.#clock.monotonic() + Math.min(max, Math.max(min, retryAfterMs));
    if (until > h.rateLimitedUntil) [h.rateLimitedUntil, h.rateLimitCause] = [until, 'rate_limited'];
    this.#update(h, 'rate_limited');
  }

  /** Drained until `undrain` (a local drain outlasts any peer's drain expiry). */
  drain(h: rules.EndpointHealth, cause: TransitionCause): void {
    h.drainedUntil = Number.POSITIVE_INFINITY;
    h.drainCause = cause;
    this.#update(h, cause);
  }

  /**
   * A fire drill: drained until `untilEpoch` (epoch ms), operator intent like a drain, so panic never
   * routes to it. Never shortens a drain that lasts longer.
   */
  drill(h: rules.EndpointHealth, untilEpoch: number): void {
    const until = this.#toMonotonic(untilEpoch);
    if (this.#closed || until <= this.#clock.monotonic() || until <= h.drainedUntil) return;
    h.drainedUntil = until;
    h.drainCause = 'drill';
    this.#update(h, 'drill');
  }

  /** Lift any drain, local or remote (a drill too). */
  undrain(h: rules.EndpointHealth): void {
    h.drainedUntil = 0;
    this.#update(h, 'undrained');
  }

  /** Apply a peer's report (cause `remote`); false if the endpoint is unknown or the report expired. */
  applyRemote(report: rules.RemoteHealthReport): boolean {
    const h = this.#records.get(report.endpointId);
    if (!h || this.#closed) return false;
    const now = this.#clock.monotonic();
    if (report.state === 'ejected') {
      if (this.#toMonotonic(report.until) <= now) return false;
      this.eject(h, 'remote', report.until);
    } else {
      let until = report.state === 'healthy' ? 0 : this.#toMonotonic(report.until);
      // A peer's rate limit is held no longer than one of ours: `rateLimit.max` caps what any Retry-After can do.
      if (report.state === 'rate_limited') until = Math.min(until, now + this.#options.rateLimit.max);
      const local = report.state === 'healthy' ? report : { ...report, until };
      if (!rules.applyRemoteLayer(h, local, now)) return false;
      this.#update(h, 'remote');
    }
    return true;
  }

  /** The active probes' verdict flipped. */
  probeVerdict(h: rules.EndpointHealth, up: boolean): void {
    h.probeDown = !up;
    this.#update(h, up ? 'probe_recovered' : 'probe_failed');
  }

  /** The endpoint's breaker changed state. */
  breakerState(h: rules.EndpointHealth, state: BreakerState): void {
    h.breakerOpen = state === 'open';
    if (h.breakerOpen) h.breakerOpenedAt = this.#clock.monotonic();
    this.#update(h, state === 'open' ? 'breaker_open' : state === 'half_open' ? 'breaker_half_open' : 'recovered');
  }

  /** Clear every timer; later changes are ignored. */
  close(): void {
    this.#closed = true;
    for (const h of this.#records.values()) {
      this.#clock.clearTimeout(h.timer);
      h.timer = undefined;
    }
  }

  /** Epoch ms minus monotonic ms now: add it to a monotonic time to get the epoch time. */
  wallOffset(): number {
    return this.#clock.now() - this.#clock.monotonic();
  }

  #toMonotonic(epochMs: number): number {
    return epochMs - this.wallOffset();
  }

  #onTimer(h: rules.EndpointHealth): void {
    h.timer = undefined;
    h.timerDue = Number.POSITIVE_INFINITY;
    // Only drills and peers' drains expire by timer (a local drain lasts until undrained). Their end is
    // no undrain: the fleet must not read it as an operator lifting a drain.
    this.#update(h, 'recovered');
  }

  /** Re-evaluate after a layer changed; emit the transition if any; re-arm the endpoint's one timer. */
  #update(h: rules.EndpointHealth, cause: TransitionCause): void {
    if (this.#closed) return;
    const now = this.#clock.monotonic();
    const window = this.#options.probation.window;
    const transition = rules.evaluate(h, now, cause, window, this.#options.breaker.resetTimeout, this.wallOffset());
    if (transition) this.#emitter.emit(transition);
    const due = rules.nextDeadline(h, window);
    if (due === h.timerDue) return;
    this.#clock.clearTimeout(h.timer);
    h.timer = undefined;
    h.timerDue = due;
    if (Number.isFinite(due)) {
      h.timer = this.#clock.setTimeout(h.onTimer, Math.max(0, due - now));
      h.timer.unref();
    }
  }
}
