/**
 * `FleetView`: what the fleet says about each endpoint, after trust rules (`trust-rules.ts`). It keeps
 * each other gateway's latest report per (endpoint, class), lets it expire at `expiresAt` unless renewed
 * (by a new event or a snapshot refresh; a report is never believed further ahead than
 * `maxRemoteTtlMs`), holds operator intents (`IntentBook`, own ones included), reconciles both against
 * each snapshot load, and tells listeners when an endpoint's effective remote state changes. Bounded:
 * reports only for known endpoints, from at most `MAX_REPORTING_GATEWAYS` gateways at a time. Runs on
 * the injected clock; `close()` clears its timer.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import { isAtLeastAsRecent, isIntent, recordKey, type FleetEvent } from './fleet-event.js';
import { IntentBook, type IntentSummary } from './intent-book.js';
import { callSafely, type StateStore } from './state-store.js';
import { effectiveStates, sameState, type RemoteEndpointState, type RemoteRecord } from './trust-rules.js';

export const DEFAULT_MAX_EJECT_SHARE = 0.5;
export const DEFAULT_MAX_REMOTE_TTL_MS = 60_000;
/** Distinct gateways whose reports are held at once; reports from more are dropped (and counted). */
export const MAX_REPORTING_GATEWAYS = 256;
/** Longest delay a Node timer takes (a longer one fires at once); a timed drain may end later. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface FleetViewOptions {
  /** This gateway: its own events are never applied as remote. */
  readonly gatewayId: string;
  readonly clock: Clock;
  /** Endpoints in the registry (the base of the per-gateway cap). */
  readonly totalEndpoints: () => number;
  /** Whether an endpoint id is in the registry (default: any); reports and intents for others are dropped. */
  readonly knownEndpoint?: (endpointId: string) => boolean;
  /** Share of all endpoints one gateway's unconfirmed reports may impair (default 0.5). */
  readonly maxEjectShare?: number;
  /** Furthest ahead a remote expiry is believed (default 60 s); refreshes renew it. */
  readonly maxRemoteTtlMs?: number;
}

export type FleetViewListener = (endpointId: string, state: RemoteEndpointState | undefined) => void;
/** Receives the fault intents in force (a drill's injected faults) after every re-evaluation. */
export type FaultListener = (faults: readonly RemoteRecord[]) => void;

export class FleetView {
  readonly #o: FleetViewOptions;
  readonly #records = new Map<string, RemoteRecord>();
  readonly #intents: IntentBook;
  /** Records held per reporting gateway (the bound on distinct gateways). */
  readonly #perGateway = new Map<string, number>();
  #overflow = 0;
  readonly #listeners = new Set<FleetViewListener>();
  readonly #faultListeners = new Set<FaultListener>();
  #states = new Map<string, RemoteEndpointState>();
  #withheld = 0;
  #timer: TimerHandle | undefined;
  #timerDue: number | undefined;
  #closed = false;

  constructor(opts: FleetViewOptions) {
    this.#o = opts;
    this.#intents = new IntentBook(opts.knownEndpoint);
  }

  /** Apply a store's remote events and snapshot loads; returns a detach function. */
  attach(store: Pick<StateStore, 'onEvent' | 'onSnapshot'>): () => void {
    const offEvent = store.onEvent((e) => this.apply(e));
    const offSnapshot = store.onSnapshot((events, since) => this.applySnapshot(events, since));
    return () => {
      offEvent();
      offSnapshot();
    };
  }

  /**
   * Apply one event: a remote report (an older event of the same gateway and record is ignored), or an
   * intent from any gateway, this one included (an operator action made here is applied through it).
   */
  apply(event: FleetEvent): void {
    if (this.#closed) return;
    const now = this.#o.clock.now();
    if (isIntent(event) ? this.#intents.apply(event, now) : this.#put(event, now)) this.#recompute();
  }

  /**
   * Apply a snapshot load: renew what it holds, and forget records it lacks that were received before
   * `since` (their gateway no longer asserts them, or the message clearing them was lost).
   */
  applySnapshot(events: readonly FleetEvent[], since: number): void {
    if (this.#closed) return;
    const now = this.#o.clock.now();
    const present = new Set<string>();
    for (const e of events) {
      if (isIntent(e)) continue;
      present.add(recordKey(e));
      this.#put(e, now);
    }
    for (const [key, r] of this.#records) if (!present.has(key) && r.receivedAt < since) this.#delete(key);
    this.#intents.load(events, since, now);
    this.#recompute();
  }

  /** The effective remote state of an endpoint, or undefined when the fleet says nothing about it. */
  remoteState(endpointId: string): RemoteEndpointState | undefined {
    return this.#states.get(endpointId);
  }

  /** Every endpoint with a remote state. */
  states(): ReadonlyMap<string, RemoteEndpointState> {
    return this.#states;
  }

  /**
   * Counts for the admin API: reports held, endpoints affected, reports withheld by the cap, reports
   * dropped for coming from more gateways than `MAX_REPORTING_GATEWAYS`; and the intents in force.
   */
  summary(): { records: number; endpoints: number; withheld: number; overflow: number; intents: IntentSummary[] } {
    return {
      records: this.#records.size,
      endpoints: this.#states.size,
      withheld: this.#withheld,
      overflow: this.#overflow,
      intents: this.#intents.summary(),
    };
  }

  /** Called with (endpointId, new state or undefined) on every change. Returns an unsubscribe. */
  onChange(fn: FleetViewListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Called with the fault intents in force after every re-evaluation (once now). Returns an unsubscribe. */
  onFaults(fn: FaultListener): () => void {
    this.#faultListeners.add(fn);
    callSafely(fn, [[...this.#intents.faults()]], () => {});
    return () => this.#faultListeners.delete(fn);
  }

  /** Re-evaluate now (e.g. after the registry changed size). */
  reevaluate(): void {
    if (!this.#closed) this.#recompute();
  }

  close(): void {
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = undefined;
    this.#listeners.clear();
    this.#faultListeners.clear();
  }

  /** Store or renew a record; true if anything changed. */
  #put(event: FleetEvent, now: number): boolean {
    if (event.gatewayId === this.#o.gatewayId) return false;
    if (this.#o.knownEndpoint && !this.#o.knownEndpoint(event.endpointId)) return false;
    const key = recordKey(event);
    const existing = this.#records.get(key);
    if (existing && !isAtLeastAsRecent(event, existing.event)) return false;
    const until = Math.min(event.expiresAt, now + (this.#o.maxRemoteTtlMs ?? DEFAULT_MAX_REMOTE_TTL_MS));
    if (until <= now) return this.#delete(key);
    if (!existing) {
      const held = this.#perGateway.get(event.gatewayId);
      if (held === undefined && this.#perGateway.size >= MAX_REPORTING_GATEWAYS) {
        this.#overflow++;
        return false;
      }
      this.#perGateway.set(event.gatewayId, (held ?? 0) + 1);
    }
    this.#records.set(key, { event, until, receivedAt: now });
    return true;
  }

  #delete(key: string): boolean {
    const r = this.#records.get(key);
    if (r === undefined) return false;
    this.#records.delete(key);
    const n = (this.#perGateway.get(r.event.gatewayId) ?? 1) - 1;
    if (n > 0) this.#perGateway.set(r.event.gatewayId, n);
    else this.#perGateway.delete(r.event.gatewayId);
    return true;
  }

  #recompute(): void {
    const now = this.#o.clock.now();
    for (const [key, r] of this.#records) if (r.until <= now) this.#delete(key);
    this.#intents.prune(now);
    const { states, withheld } = effectiveStates(
      [...this.#records.values(), ...this.#intents.records()],
      this.#o.totalEndpoints(),
      this.#o.maxEjectShare ?? DEFAULT_MAX_EJECT_SHARE,
    );
    const before = this.#states;
    this.#states = states;
    this.#withheld = withheld;
    const changed = new Set([...before.keys(), ...states.keys()]);
    for (const id of changed) {
      const next = states.get(id);
      if (sameState(before.get(id), next)) continue;
      for (const fn of [...this.#listeners]) callSafely(fn, [id, next], () => {});
    }
    if (this.#faultListeners.size > 0) {
      const faults = [...this.#intents.faults()];
      for (const fn of [...this.#faultListeners]) callSafely(fn, [faults], () => {});
    }
    this.#schedule(now);
  }

  /** One timer, due at the earliest record expiry. */
  #schedule(now: number): void {
    let due = this.#intents.prune(now);
    for (const r of this.#records.values()) if (due === undefined || r.until < due) due = r.until;
    if (due === this.#timerDue) return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = due;
    if (due === undefined) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = undefined;
      if (!this.#closed) this.#recompute();
    }, Math.min(due - now, MAX_TIMER_MS));
    this.#timer.unref();
  }
}
