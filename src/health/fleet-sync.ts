/**
 * The link between local health and the fleet: local transitions go out as `FleetEvent`s (through the
 * egress guard), and the fleet's view after trust rules comes back as remote health reports. Operator
 * drains and drills are intents: written to the store as their own records, applied from the fleet's
 * view by every gateway (this one included, at once), so they outlive the gateway that made them.
 * Writes are local first and shared second; nothing here sits on the request path or waits for the store.
 */
import type { Registry } from '../registry/registry.js';
import { EgressGuard } from '../state/egress-guard.js';
import type { FleetEvent, FleetEventType } from '../state/fleet-event.js';
import { FleetView } from '../state/fleet-view.js';
import type { StateStore } from '../state/state-store.js';
import type { RemoteEndpointState } from '../state/trust-rules.js';
import type { Clock } from '../util/clock.js';
import type { HealthTracker } from './health-tracker.js';
import type { HealthTransition, TransitionCause } from './health-transition.js';

const DRAIN_HOLD_MS = 24 * 3_600_000;
/** Lifetime of the drill record that ends a drill early (`endDrill`). */
const DRILL_END_MS = 500;
/** How long an undrain marker replaces a drain record: long enough to settle every race with a refresh. */
const UNDRAIN_MARKER_MS = 60_000;
/** How long an uneject marker voids older ejection reports: as long, for the same reason. */
const UNEJECT_MARKER_MS = 60_000;
/**
 * Causes never reported to the fleet as health: each gateway refreshes its own credentials, and a drill
 * is already a fleet intent (every gateway applies it from the intent, with cause `drill`).
 */
const LOCAL_ONLY: ReadonlySet<TransitionCause> = new Set<TransitionCause>(['credentials_expired', 'credentials_renewed', 'drill']);

/**
 * How much earlier an expiry must come to count as a layer lifted. A snapshot load re-derives each
 * record's expiry from the store's remaining lifetime, a few ms off the event's: without this margin
 * every refresh "lifted" and re-applied a drill (a drained → healthy → drained flap in the timeline).
 * Real shortenings (an undrill, an uneject) move it by far more.
 */
const EXPIRY_JITTER_MS = 1000;

function shortened(before: number | undefined, after: number | undefined): boolean {
  return (before ?? 0) - (after ?? 0) > EXPIRY_JITTER_MS;
}

export interface FleetSyncOptions {
  readonly gatewayId: string;
  readonly clock: Clock;
  readonly registry: Pick<Registry, 'endpoints' | 'endpoint'>;
  readonly health: HealthTracker;
  /** Lifetime of events with no natural end (drains), renewed by every snapshot refresh. */
  readonly renewMs?: number;
  /** Share of endpoints ejected from here alone above which our egress is considered broken. */
  readonly egressThreshold?: number;
  /** Share of endpoints one gateway's unconfirmed reports may impair fleet-wide. */
  readonly maxEjectShare?: number;
  /** Furthest ahead a remote expiry is believed. */
  readonly maxRemoteTtlMs?: number;
}

export class FleetSync {
  readonly view: FleetView;
  readonly #o: FleetSyncOptions;
  readonly #guard: EgressGuard;
  #store: StateStore | undefined;
  #seq = 0;
  /** The remote state last applied per endpoint, to tell a lifted layer from a renewed one. */
  readonly #applied = new Map<string, RemoteEndpointState>();
  /** The uneject marker last acted on per endpoint (its `at`): each ends this gateway's ejection once. */
  readonly #unejected = new Map<string, number>();
  readonly #off: (() => void)[] = [];

  constructor(opts: FleetSyncOptions) {
    this.#o = opts;
    const total = (): number => opts.registry.endpoints.length;
    this.view = new FleetView({
      gatewayId: opts.gatewayId,
      clock: opts.clock,
      totalEndpoints: total,
      knownEndpoint: (id) => opts.registry.endpoint(id) !== undefined,
      maxEjectShare: opts.maxEjectShare,
      maxRemoteTtlMs: opts.maxRemoteTtlMs,
    });
    this.#guard = new EgressGuard({
      threshold: opts.egressThreshold,
      totalEndpoints: total,
      // Only failures seen from here say anything about our egress: not peers' reports, not operators.
      localEjectedCount: () =>
        opts.health.snapshot().filter((s) => s.state === 'ejected' && s.cause !== 'remote' && s.cause !== 'operator' && s.cause !== 'credentials_expired').length,
    });
  }

  /** The store's `localEvents` provider: every report this gateway asserts now, egress-guarded. */
  readonly localEvents = (): readonly FleetEvent[] => {
    const now = this.#o.clock.now();
    const renew = now + (this.#o.renewMs ?? 30_000);
    const out: FleetEvent[] = [];
    for (const s of this.#o.health.snapshot()) {
      if (s.cause === 'remote' || (s.cause !== null && LOCAL_ONLY.has(s.cause))) continue;
      const type = s.state === 'ejected' ? 'ejected' : s.state === 'rate_limited' ? 'rate_limited' : undefined;
      if (type === undefined) continue;
      // An ejection is asserted for the renew horizon, not its own end: if something else keeps it
      // ejected here (failing probes, an open breaker) peers must not fall back into probation. Its end
      // is announced with `recovered`, and a lost message is healed by the next refresh.
      const until = type === 'ejected' ? renew : Math.min(s.until ?? renew, renew);
      if (until > now) out.push(this.#event(type, s.id, s.cause ?? type, until, now));
    }
    return this.#guard.filter(out);
  };

  /** Start publishing local transitions to `store` and applying the fleet's view to local health. */
  attach(store: StateStore): void {
    this.#store = store;
    this.#off.push(this.view.attach(store));
    this.#off.push(this.view.onChange((id, state) => this.#applyRemote(id, state)));
    this.#off.push(this.#o.health.onTransition((t) => this.#publish(t)));
    // An open-ended drain is held locally for DRAIN_HOLD_MS at a time: every load renews it.
    this.#off.push(store.onSnapshot(() => this.#renewDrains()));
  }

  /**
   * An operator drain, fleet-wide: until undrained, or for `ms` when given. `reason` is shown in
   * `/admin/state` with this gateway's id and the time.
   */
  drain(endpointId: string, reason: string, ms?: number): void {
    const now = this.#o.clock.now();
    this.#intent(this.#event('drained', endpointId, reason, ms === undefined ? Number.POSITIVE_INFINITY : now + ms, now));
  }

  /**
   * An operator uneject, fleet-wide: every gateway ends its own ejection of the endpoint (an open breaker
   * or failing probes still hold it there), and ejection reports made before now stop counting. Without
   * it, a peer that had also ejected the endpoint kept asserting its ejection, and the fleet put it back.
   */
  uneject(endpointId: string, reason: string): void {
    const now = this.#o.clock.now();
    this.#intent(this.#event('unejected', endpointId, reason, now + UNEJECT_MARKER_MS, now));
  }

  /** Lift a drain fleet-wide, whichever gateway made it. */
  undrain(endpointId: string, reason: string): void {
    const now = this.#o.clock.now();
    this.#intent(this.#event('undrained', endpointId, reason, now + UNDRAIN_MARKER_MS, now));
  }

  /** A fire drill, fleet-wide: the endpoint is ejected everywhere for `ms`, whatever its health. */
  drill(endpointId: string, reason: string, ms: number): void {
    const now = this.#o.clock.now();
    this.#intent(this.#event('drill', endpointId, reason, now + ms, now));
  }

  /**
   * End a drill in force fleet-wide (an undrain, or a drill aborted): a record cannot be deleted, only
   * replaced, so it is replaced by one that ends in `DRILL_END_MS`, long enough to reach every gateway
   * before it expires (one that misses it drops the old record at its next snapshot load).
   */
  endDrill(endpointId: string, reason: string): void {
    if (this.view.states().get(endpointId)?.drillUntil === undefined) return;
    this.drill(endpointId, reason, DRILL_END_MS);
  }

  /**
   * A drill's fault, fleet-wide: every gateway injects `cause` (an encoded `FaultSpec`, `src/fault/`)
   * into its own attempts toward the endpoint for `ms`; the endpoint's health is left alone.
   */
  fault(endpointId: string, cause: string, ms: number): void {
    const now = this.#o.clock.now();
    this.#intent(this.#event('fault', endpointId, cause, now + ms, now));
  }

  /** End a fault in force fleet-wide early: replaced by a record that injects nothing and soon ends. */
  endFault(endpointId: string, cause: string): void {
    this.fault(endpointId, cause, DRILL_END_MS);
  }

  /**
   * Endpoints a config reload added (or replaced) start from the fleet's current view: a drain, drill or
   * ejection already in force for their id applies to them too.
   */
  endpointsAdded(ids: readonly string[]): void {
    for (const id of ids) {
      this.#applied.delete(id);
      const state = this.view.states().get(id);
      if (state !== undefined) this.#applyRemote(id, state);
    }
  }

  /** An intent made here: into the store (where it outlives us) and applied here at once. */
  #intent(event: FleetEvent): void {
    this.#store?.publish(event);
    this.view.apply(event);
  }

  #renewDrains(): void {
    for (const [id, state] of this.view.states()) if (state.drained) this.#applyDrain(id, state);
  }

  #applyDrain(endpointId: string, state: RemoteEndpointState): void {
    const until = Math.min(state.drainedUntil ?? Number.POSITIVE_INFINITY, this.#o.clock.now() + DRAIN_HOLD_MS);
    this.#o.health.applyRemote({ endpointId, state: 'drained', until });
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
    this.view.close();
  }

  #publish(t: HealthTransition): void {
    if (t.cause === 'remote' || LOCAL_ONLY.has(t.cause) || this.#store === undefined) return;
    const now = this.#o.clock.now();
    const renew = now + (this.#o.renewMs ?? 30_000);
    // The same expiry `localEvents` asserts, so a refresh never looks like a shortened (lifted) report.
    const until = t.to === 'ejected' ? renew : Math.min(t.until ?? renew, renew);
    let type: FleetEventType | undefined;
    if (t.to === 'ejected') type = 'ejected';
    else if (t.to === 'rate_limited') type = 'rate_limited';
    else if ((t.from === 'ejected' || t.from === 'rate_limited') && (t.to === 'probation' || t.to === 'healthy')) type = 'recovered';
    if (type === undefined) return;
    const event = this.#event(type, t.endpointId, t.cause, type === 'recovered' ? now + 1000 : until, now);
    if (this.#guard.allows(event)) this.#store.publish(event);
  }

  #applyRemote(endpointId: string, state: RemoteEndpointState | undefined): void {
    const health = this.#o.health;
    const before = this.#applied.get(endpointId);
    if (state === undefined) this.#applied.delete(endpointId);
    else this.#applied.set(endpointId, state);
    // A layer lifted or shortened: clear what remote reports imposed, then apply the current view.
    const lifted =
      before !== undefined &&
      (state === undefined ||
        (before.drained && !state.drained) ||
        shortened(before.drillUntil, state.drillUntil) ||
        shortened(before.ejectedUntil, state.ejectedUntil) ||
        shortened(before.rateLimitedUntil, state.rateLimitedUntil));
    if (lifted) health.applyRemote({ endpointId, state: 'healthy' });
    if (state === undefined) return void this.#unejected.delete(endpointId);
    if (state.unejectedAt !== undefined && this.#unejected.get(endpointId) !== state.unejectedAt) {
      this.#unejected.set(endpointId, state.unejectedAt);
      const endpoint = this.#o.registry.endpoint(endpointId);
      if (endpoint !== undefined) health.uneject(endpoint, 'operator');
    }
    // The view lifts a drain when its record ends or is undrained.
    if (state.drained) this.#applyDrain(endpointId, state);
    // A drill is operator intent, applied as a drain that ends with it (panic never routes to it), with
    // cause `drill` on every gateway, whichever one it was started through.
    const endpoint = state.drillUntil === undefined ? undefined : this.#o.registry.endpoint(endpointId);
    if (endpoint !== undefined && state.drillUntil !== undefined) health.drill(endpoint, state.drillUntil);
    if (state.ejectedUntil !== undefined) health.applyRemote({ endpointId, state: 'ejected', until: state.ejectedUntil });
    if (state.rateLimitedUntil !== undefined) health.applyRemote({ endpointId, state: 'rate_limited', until: state.rateLimitedUntil });
  }

  #event(type: FleetEventType, endpointId: string, cause: string, expiresAt: number, now: number): FleetEvent {
    return { v: 2, type, gatewayId: this.#o.gatewayId, endpointId, cause, at: now, expiresAt, seq: ++this.#seq };
  }
}
