/**
 * `FleetView`: what other gateways say about each endpoint, after trust rules (`trust-rules.ts`). It
 * keeps each gateway's latest event per (endpoint, class), lets it expire at `expiresAt` unless renewed
 * (by a new event or a snapshot refresh; an expiry is never trusted further ahead than
 * `maxRemoteTtlMs`), reconciles against each snapshot load, and tells listeners when an endpoint's
 * effective remote state changes. Runs on the injected clock; `close()` clears its timer.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import { isAtLeastAsRecent, recordKey, type FleetEvent } from './fleet-event.js';
import { callSafely, type StateStore } from './state-store.js';
import { effectiveStates, sameState, type RemoteEndpointState, type RemoteRecord } from './trust-rules.js';

export const DEFAULT_MAX_EJECT_SHARE = 0.5;
export const DEFAULT_MAX_REMOTE_TTL_MS = 60_000;

export interface FleetViewOptions {
  /** This gateway: its own events are never applied as remote. */
  readonly gatewayId: string;
  readonly clock: Clock;
  /** Endpoints in the registry (the base of the per-gateway cap). */
  readonly totalEndpoints: () => number;
  /** Share of all endpoints one gateway's unconfirmed reports may impair (default 0.5). */
  readonly maxEjectShare?: number;
  /** Furthest ahead a remote expiry is believed (default 60 s); refreshes renew it. */
  readonly maxRemoteTtlMs?: number;
}

export type FleetViewListener = (endpointId: string, state: RemoteEndpointState | undefined) => void;

export class FleetView {
  readonly #o: FleetViewOptions;
  readonly #records = new Map<string, RemoteRecord>();
  readonly #listeners = new Set<FleetViewListener>();
  #states = new Map<string, RemoteEndpointState>();
  #withheld = 0;
  #timer: TimerHandle | undefined;
  #timerDue: number | undefined;
  #closed = false;

  constructor(opts: FleetViewOptions) {
    this.#o = opts;
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

  /** Apply one remote event (an older event of the same gateway and record is ignored). */
  apply(event: FleetEvent): void {
    if (this.#closed) return;
    if (this.#put(event, this.#o.clock.now())) this.#recompute();
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
      present.add(recordKey(e));
      this.#put(e, now);
    }
    for (const [key, r] of this.#records) if (!present.has(key) && r.receivedAt < since) this.#records.delete(key);
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

  /** Counts for the admin API: records held, endpoints affected, reports withheld by the cap. */
  summary(): { records: number; endpoints: number; withheld: number } {
    return { records: this.#records.size, endpoints: this.#states.size, withheld: this.#withheld };
  }

  /** Called with (endpointId, new state or undefined) on every change. Returns an unsubscribe. */
  onChange(fn: FleetViewListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
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
  }

  /** Store or renew a record; true if anything changed. */
  #put(event: FleetEvent, now: number): boolean {
    if (event.gatewayId === this.#o.gatewayId) return false;
    const key = recordKey(event);
    const existing = this.#records.get(key);
    if (existing && !isAtLeastAsRecent(event, existing.event)) return false;
    const until = Math.min(event.expiresAt, now + (this.#o.maxRemoteTtlMs ?? DEFAULT_MAX_REMOTE_TTL_MS));
    if (until <= now) return this.#records.delete(key);
    this.#records.set(key, { event, until, receivedAt: now });
    return true;
  }

  #recompute(): void {
    const now = this.#o.clock.now();
    for (const [key, r] of this.#records) if (r.until <= now) this.#records.delete(key);
    const { states, withheld } = effectiveStates(
      this.#records.values(),
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
    this.#schedule(now);
  }

  /** One timer, due at the earliest record expiry. */
  #schedule(now: number): void {
    let due: number | undefined;
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
    }, due - now);
    this.#timer.unref();
  }
}
