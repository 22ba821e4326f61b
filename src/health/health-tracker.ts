/**
 * The health facade: per-endpoint state built from active probes, passive outlier detection, one
 * opossum breaker per endpoint, 429s, drains and reports from other gateways (layers and rules in
 * `endpoint-state.ts`), plus peak-EWMA latency. The data path reports attempts through the
 * `AttemptObserver` methods; the router reads `isRoutable`, `weightFactor`, `score`, `inflight`,
 * `recoveryIn` and `state`, which are O(1), allocation-free and do no I/O.
 *
 * Probation is a bounded trickle in two parts: `isRoutable` admits an endpoint in probation only while
 * it has fewer than `probation.maxConcurrent` attempts in flight (deterministic, so `/readyz` does not
 * flicker), and `weightFactor` ramps its share from `probation.minWeight` to 1, which the picker
 * applies to the endpoint's weight (`routing/health-picker.ts`). The ramp is not applied twice.
 *
 * Every state change is a `HealthTransition` (see `health-transition.ts`), heard through
 * `onTransition`. State changes are driven by `HealthStateMachine`; timers run on the injected clock
 * and `close()` clears them all; opossum's own reset timer is the one real timer (`endpoint-breaker.ts`).
 */
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Endpoint } from '../registry/endpoint.js';
import { isGatewayFailure, type AttemptObserver, type AttemptOutcome, type LocalOriginFailure } from './attempt-outcome.js';
import { BucketRotator, EndpointBreaker, type BreakerState } from './endpoint-breaker.js';
import { EjectionCap } from './ejection-cap.js';
import { inProbation, recoveryIn, weightFactor, type EndpointHealth, type RemoteHealthReport } from './endpoint-state.js';
import { settleHealthOptions, type HealthOptions } from './health-options.js';
export { HEALTH_NOT_LIVE } from './health-options.js';
import { TransitionEmitter, type HealthState, type TransitionCause, type TransitionListener } from './health-transition.js';
import { createHttpProbe, type HttpProbe, type ProbeFn } from './http-probe.js';
import { snapshotEndpoint, type EndpointHealthSnapshot } from './health-snapshot.js';
import { HealthStateMachine } from './health-state-machine.js';
import { LatencyTracker } from './latency-tracker.js';
import { OutlierDetector } from './outlier-detector.js';
import { Prober } from './prober.js';
import type { TlsFailureFn } from '../transport/tls-connect.js';

export interface HealthTrackerInit {
  readonly endpoints: readonly Endpoint[];
  readonly clock: Clock;
  readonly random: Random;
  /** Resolved by the config schema (`health:`); defaults live there. */
  readonly options: HealthOptions;
  /** Replaces the undici probe (tests, custom checks). */
  readonly probe?: ProbeFn;
  /** Told about TLS failures of the real probe (the gateway logs them). */
  readonly onTlsFailure?: TlsFailureFn;
}

export type { EndpointHealthSnapshot } from './health-snapshot.js';
export type { RemoteHealthReport } from './endpoint-state.js';

/** Local-origin failures whose elapsed time is a lower bound of the time to first byte. */
const TTFB_BOUND: ReadonlySet<LocalOriginFailure> = new Set<LocalOriginFailure>(['connect_timeout', 'first_byte_timeout']);

export class HealthTracker implements AttemptObserver {
  #options: HealthOptions;
  #endpoints: readonly Endpoint[];
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #probe: ProbeFn | undefined;
  readonly #onTlsFailure: TlsFailureFn | undefined;
  readonly #emitter = new TransitionEmitter();
  readonly #machine: HealthStateMachine;
  readonly #breakers = new Map<string, EndpointBreaker>();
  readonly #latency: LatencyTracker;
  readonly #detector: OutlierDetector;
  readonly #rotator: BucketRotator;
  readonly #cap: EjectionCap;
  #prober: Prober | undefined;
  #httpProbe: HttpProbe | undefined;
  #closed = false;

  constructor(init: HealthTrackerInit) {
    const o = (this.#options = settleHealthOptions(init.options));
    const { endpoints, clock, random } = init;
    this.#endpoints = endpoints;
    this.#clock = clock;
    this.#random = random;
    this.#probe = init.probe;
    this.#onTlsFailure = init.onTlsFailure;
    this.#latency = new LatencyTracker(endpoints, clock, o.latency);
    this.#detector = new OutlierDetector(o.outlier, clock);
    this.#cap = new EjectionCap(o.outlier.maxEjectionPercent, endpoints.length);
    const onEject = (e: Endpoint): void => {
      this.#detector.reset(e);
      this.#latency.forget(e);
    };
    this.#machine = new HealthStateMachine({ endpoints, clock, random, options: o, emitter: this.#emitter, onEject });
    // However an endpoint gets ejected (outliers, failing probes, an open breaker, a peer), its latency
    // samples describe it broken: start afresh when it comes back.
    this.#emitter.on((t) => {
      if (t.to === 'ejected' && t.from !== 'ejected') {
        const e = this.#endpoints.find((x) => x.id === t.endpointId);
        if (e !== undefined) this.#latency.forget(e);
      }
    });
    this.#rotator = new BucketRotator(clock, o.breaker);
    for (const endpoint of endpoints) this.#addBreaker(endpoint);
  }

  /** The settings in force (a reload may have changed the live ones). */
  get options(): HealthOptions {
    return this.#options;
  }

  /**
   * New health settings (a config reload), with the state of every endpoint kept. Live: the probes'
   * cadence, timeout, jitter, thresholds and expected statuses; outlier detection and ejection times;
   * probation; latency; rate limits. Not live (`HEALTH_NOT_LIVE`, which the reload names): probes on or
   * off, the probe path, the breakers; those keep their values here.
   */
  configure(options: HealthOptions): void {
    if (this.#closed) return;
    const was = this.#options;
    const o = settleHealthOptions({ ...options, probes: was.probes, path: was.path, breaker: was.breaker });
    this.#options = o;
    this.#latency.configure(o.latency);
    this.#detector.configure(o.outlier);
    this.#cap.setPercent(o.outlier.maxEjectionPercent, this.#endpoints.length);
    this.#machine.configure(o);
    this.#prober?.configure(o);
  }

  /**
   * Track endpoints added by a config reload: each starts in probation (cause `added`), gets a breaker,
   * latency tracking and, once probing runs, probes. An endpoint replacing one of the same id starts afresh.
   */
  addEndpoints(added: readonly Endpoint[]): void {
    if (this.#closed || added.length === 0) return;
    const ids = new Set(added.map((e) => e.id));
    this.#forget(ids);
    this.#endpoints = [...this.#endpoints.filter((e) => !ids.has(e.id)), ...added];
    for (const e of added) {
      this.#latency.add(e);
      this.#addBreaker(e);
      this.#machine.add(e);
      this.#prober?.add(e);
    }
    this.#cap.resize(this.#endpoints.length);
  }

  /**
   * Stop tracking endpoints removed by a config reload. Their attempts still in flight end unheard: the
   * endpoint is gone, and nothing it does may change the state of a successor with the same id.
   */
  removeEndpoints(removed: readonly Endpoint[]): void {
    if (this.#closed || removed.length === 0) return;
    const gone = new Set(removed);
    for (const e of removed) this.#httpProbe?.forget?.(e);
    this.#forget(new Set(this.#endpoints.filter((e) => gone.has(e)).map((e) => e.id)));
    this.#endpoints = this.#endpoints.filter((e) => !gone.has(e));
    this.#cap.resize(this.#endpoints.length);
  }

  #forget(ids: ReadonlySet<string>): void {
    for (const id of ids) {
      const old = this.#machine.get(id)?.endpoint;
      if (old !== undefined) this.#detector.reset(old);
      this.#machine.remove(id);
      this.#latency.remove(id);
      this.#prober?.remove(id);
      this.#breakers.get(id)?.close();
      this.#breakers.delete(id);
    }
  }

  #addBreaker(endpoint: Endpoint): void {
    const onStateChange = (s: BreakerState): void => this.#with(endpoint, (h) => this.#machine.breakerState(h, s));
    this.#breakers.set(endpoint.id, new EndpointBreaker({ endpoint, options: this.#options.breaker, rotator: this.#rotator, onStateChange }));
  }

  /** Hear every transition; returns the unsubscribe function. */
  onTransition(listener: TransitionListener): () => void {
    return this.#emitter.on(listener);
  }

  /** Healthy, or in probation with room under `probation.maxConcurrent`. Unknown endpoints: false. */
  isRoutable(endpoint: Endpoint): boolean {
    const h = this.#machine.get(endpoint.id);
    if (!h || h.state === 'healthy') return h !== undefined;
    return h.state === 'probation' && this.#latency.inflight(endpoint) < this.#options.probation.maxConcurrent;
  }

  /** 1 when healthy, the probation ramp (minWeight..1) in probation, 0 otherwise. */
  weightFactor(endpoint: Endpoint): number {
    const h = this.#machine.get(endpoint.id);
    if (h === undefined) return 0;
    if (h.state === 'healthy') return 1; // the common case, without reading the clock
    const p = this.#options.probation;
    return weightFactor(h, this.#clock.monotonic(), p.window, p.minWeight);
  }

  /** Peak-EWMA time to first byte × (in flight + 1); lower is better. */
  score(endpoint: Endpoint): number {
    return this.#latency.score(endpoint);
  }

  inflight(endpoint: Endpoint): number {
    return this.#latency.inflight(endpoint);
  }

  /** Milliseconds until routable again (0 if routable now, +Infinity for a local drain). */
  recoveryIn(endpoint: Endpoint): number {
    const h = this.#machine.get(endpoint.id);
    const o = this.options;
    return h ? recoveryIn(h, this.#clock.monotonic(), o.breaker.resetTimeout, o.interval * o.healthyThreshold) : Number.POSITIVE_INFINITY;
  }

  state(endpoint: Endpoint): HealthState | undefined {
    return this.#machine.get(endpoint.id)?.state;
  }

  /** Out by operator intent (a drain or a fire drill, here or from a peer): never routed, not even in panic. */
  drained(endpoint: Endpoint): boolean {
    return this.#machine.get(endpoint.id)?.state === 'drained';
  }

  attemptStarted(endpoint: Endpoint): void {
    if (this.#current(endpoint)) this.#latency.attemptStarted(endpoint);
  }

  attemptAnswered(endpoint: Endpoint): void {
    if (this.#current(endpoint)) this.#latency.answered(endpoint);
  }

  answeredWithin(endpoint: Endpoint, ms: number): boolean {
    return this.#latency.answeredWithin(endpoint, ms);
  }

  attemptEnded(outcome: AttemptOutcome): void {
    const e = outcome.endpoint;
    const h = this.#machine.get(e.id);
    // Unknown, or an endpoint a reload removed or replaced (same id, another object): not evidence.
    if (!h || h.endpoint !== e || this.#closed) return;
    switch (outcome.kind) {
      case 'success':
        h.consecutive429 = 0;
        this.#latency.attemptEnded(e, outcome.ttfbMs);
        if (h.state !== 'ejected') this.#detector.record(outcome);
        this.#breakers.get(e.id)?.record(true);
        return;
      case 'upstream_5xx':
        h.consecutive429 = 0;
        this.#latency.attemptEnded(e); // a fast error must not make the endpoint look fast
        if (isGatewayFailure(outcome.status)) this.#failed(h, outcome);
        // A 500 is often about the request, not the endpoint: it counts toward `consecutive5xx` only
        // (Envoy's split), never toward the breaker or a probation failure.
        else if (h.state !== 'ejected') {
          const cause = this.#detector.record(outcome);
          if (cause) this.#machine.eject(h, cause);
        }
        return;
      case 'excused': // not the endpoint's fault: no evidence either way
        this.#latency.attemptEnded(e);
        return;
      case 'local_origin':
        if (outcome.failure === 'first_byte_timeout' && this.#latency.answeredWithin(e, outcome.elapsedMs)) {
          // It answered other requests while this one waited: a slow generation, not a hung endpoint.
          // The wait still bounds its latency from below, which steers traffic elsewhere.
          this.#latency.attemptEnded(e, h.state !== 'ejected' ? outcome.elapsedMs : undefined);
          return;
        }
        // A timeout's elapsed time bounds the TTFB from below, but not once the endpoint is ejected: the
        // attempts stuck in a hang finish after the ejection and would re-poison the estimate that the
        // ejection just forgot, starving the endpoint long after it recovers.
        this.#latency.attemptEnded(e, TTFB_BOUND.has(outcome.failure) && h.state !== 'ejected' ? outcome.elapsedMs : undefined);
        this.#failed(h, outcome);
        return;
      case 'rate_limited': // neither a failure nor a latency sample
        this.#latency.attemptEnded(e);
        this.#rateLimited(h, outcome.retryAfterMs, outcome.sharedCredentials);
        return;
      case 'cancelled':
        this.#latency.attemptEnded(e, h.state !== 'ejected' ? outcome.ttfbAtLeastMs : undefined);
        return;
    }
  }

  /** Ejections outlier detection wanted but `outlier.maxEjectionPercent` withheld, since start. */
  get withheldEjections(): number {
    return this.#cap.withheld;
  }

  /** Take the endpoint out of rotation until `undrain` (in-flight attempts finish). */
  drain(endpoint: Endpoint, cause: TransitionCause = 'drained'): void {
    this.#with(endpoint, (h) => this.#machine.drain(h, cause));
  }

  undrain(endpoint: Endpoint): void {
    this.#with(endpoint, (h) => this.#machine.undrain(h));
  }

  /**
   * A fire drill: the endpoint takes no new requests until `untilMs` (epoch ms), whatever its health,
   * like a drain that ends by itself (state `drained`, cause `drill`).
   */
  drill(endpoint: Endpoint, untilMs: number): void {
    this.#with(endpoint, (h) => this.#machine.drill(h, untilMs));
  }

  /**
   * Eject the endpoint: until `untilMs` (epoch ms, `Clock.now()` base) when given, else for the next
   * backed-off ejection time. When it ends the endpoint enters probation.
   */
  eject(endpoint: Endpoint, cause: TransitionCause = 'operator', untilMs?: number): void {
    this.#with(endpoint, (h) => this.#machine.eject(h, cause, untilMs));
  }

  /** End a timed ejection now (an open breaker or failing probes still hold the endpoint). */
  uneject(endpoint: Endpoint, cause: TransitionCause = 'operator'): void {
    this.#with(endpoint, (h) => this.#machine.uneject(h, cause));
  }

  /** Apply a state reported by another gateway (cause `remote`); false if unknown or already expired. */
  applyRemote(report: RemoteHealthReport): boolean {
    return this.#machine.applyRemote(report);
  }

  /** A plain, JSON-able view of every endpoint, for the admin API. */
  snapshot(): EndpointHealthSnapshot[] {
    const now = this.#clock.monotonic();
    const parts = { options: this.#options, latency: this.#latency, detector: this.#detector, prober: this.#prober, now, wallOffset: this.#machine.wallOffset() };
    return this.#endpoints.map((e) =>
      snapshotEndpoint(e, this.#machine.get(e.id) as EndpointHealth, { ...parts, breaker: this.#breakers.get(e.id) }),
    );
  }

  /** Start active probes (unless `probes: false`). */
  start(): void {
    if (this.#closed || this.#prober || !this.#options.probes) return;
    const probe = this.#probe ?? (this.#httpProbe = createHttpProbe({ path: this.#options.path, connectTimeout: this.#options.timeout, onTlsFailure: this.#onTlsFailure })).probe;
    const onChange = (e: Endpoint, up: boolean): void => this.#with(e, (h) => this.#machine.probeVerdict(h, up));
    this.#prober = new Prober({ endpoints: this.#endpoints, clock: this.#clock, random: this.#random, options: this.#options, probe, onChange });
    this.#prober.start();
  }

  /** Stop every timer, probe and breaker; resolves once the probe agent's sockets are closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#prober?.close();
    this.#machine.close();
    for (const b of this.#breakers.values()) b.close();
    this.#rotator.close();
    this.#emitter.clear();
    await this.#httpProbe?.close();
  }

  #with(endpoint: Endpoint, fn: (h: EndpointHealth) => void): void {
    const h = this.#machine.get(endpoint.id);
    if (h && !this.#closed) fn(h);
  }

  /** Whether `endpoint` is the object tracked under its id (not one a reload removed or replaced). */
  #current(endpoint: Endpoint): boolean {
    return this.#machine.get(endpoint.id)?.endpoint === endpoint;
  }

  /** An endpoint failure: re-eject from probation, else let the outlier detector judge; then the breaker. */
  #failed(h: EndpointHealth, outcome: AttemptOutcome): void {
    if (inProbation(h)) this.#ejectOutlier(h, 'probation_failed');
    else if (h.state !== 'ejected') {
      const cause = this.#detector.record(outcome);
      if (cause) this.#ejectOutlier(h, cause);
    }
    this.#breakers.get(h.endpoint.id)?.record(false);
  }

  /** Eject for an outlier cause, within `outlier.maxEjectionPercent` (`ejection-cap.ts`). */
  #ejectOutlier(h: EndpointHealth, cause: TransitionCause): void {
    if (this.#cap.admits(h, this.#machine.records())) this.#machine.eject(h, cause);
  }

  /**
   * A 429. With the client's own credentials passed through, it is that client's business: returned or
   * retried, but the endpoint stays in rotation for everyone else. On the gateway's own credentials
   * (`sharedCredentials`), `rateLimit.consecutive` of them in a row skip the endpoint for Retry-After
   * (clamped), here and, through the fleet, everywhere; a 429 while already skipped extends the skip.
   */
  #rateLimited(h: EndpointHealth, retryAfterMs: number, sharedCredentials: boolean): void {
    if (!sharedCredentials) return;
    if (h.state !== 'rate_limited' && ++h.consecutive429 < this.#options.rateLimit.consecutive) return;
    h.consecutive429 = 0;
    this.#machine.rateLimit(h, retryAfterMs);
  }
}
