/**
 * Operator intent as the fleet holds it: at most one record per (endpoint, class), a drain (or the
 * short-lived undrain marker that replaced it), a drill, a fault and an uneject marker, whoever made them. Intents live in the
 * store on their own, so they outlive the gateway that made them and reach gateways started later;
 * every gateway, the maker included, applies them from here. A record is replaced by any newer
 * message for its key, reconciled with each snapshot load, and forgotten at its expiry (on this
 * process's clock, from the lifetime the store says is left). Only endpoints of the registry are
 * kept, so a flood of messages cannot grow it beyond four records per endpoint.
 */
import { isIntent, type FleetEvent } from './fleet-event.js';
import { intentKey } from './snapshot.js';
import type { RemoteRecord } from './trust-rules.js';

/** An intent in force, for `/admin/state`. */
export interface IntentSummary {
  readonly kind: 'drain' | 'drill' | 'fault';
  readonly endpointId: string;
  /** The gateway the operator used. */
  readonly by: string;
  readonly reason: string;
  /** When it was made (epoch ms of the maker's clock; shown, never used for expiry). */
  readonly at: number;
  /** Local epoch ms when it ends; absent: until undrained. */
  readonly until?: number;
}

export class IntentBook {
  readonly #known: (endpointId: string) => boolean;
  readonly #records = new Map<string, RemoteRecord>();

  constructor(knownEndpoint: (endpointId: string) => boolean = () => true) {
    this.#known = knownEndpoint;
  }

  /** A message (or this gateway's own action): replaces the record of its key. True if kept. */
  apply(event: FleetEvent, now: number): boolean {
    if (!isIntent(event) || !this.#known(event.endpointId) || event.expiresAt <= now) return false;
    this.#records.set(intentKey(event), { event, until: event.expiresAt, receivedAt: now });
    return true;
  }

  /**
   * A snapshot load requested at `since`: its intents replace what is held, and held records absent
   * from it go, except records received after `since` (newer than what the load could show).
   */
  load(events: readonly FleetEvent[], since: number, now: number): void {
    const present = new Set<string>();
    for (const e of events) {
      if (!isIntent(e)) continue;
      const key = intentKey(e);
      present.add(key);
      const held = this.#records.get(key);
      if (held !== undefined && held.receivedAt >= since) continue;
      if (!this.apply(e, now)) this.#records.delete(key);
    }
    for (const [key, r] of this.#records) if (!present.has(key) && r.receivedAt < since) this.#records.delete(key);
  }

  /** Drop expired records; returns the earliest expiry left. */
  prune(now: number): number | undefined {
    let due: number | undefined;
    for (const [key, r] of this.#records) {
      if (r.until <= now) this.#records.delete(key);
      else if (Number.isFinite(r.until) && (due === undefined || r.until < due)) due = r.until;
    }
    return due;
  }

  /** The records in force, for the trust rules (a drain, an undrain marker or a drill each). */
  records(): IterableIterator<RemoteRecord> {
    return this.#records.values();
  }

  /** Fault intents in force (a drill's injected faults), with their local expiry. */
  *faults(): IterableIterator<RemoteRecord> {
    for (const r of this.#records.values()) if (r.event.type === 'fault') yield r;
  }

  /** Drains, drills and faults in force. */
  summary(): IntentSummary[] {
    const out: IntentSummary[] = [];
    for (const { event: e, until } of this.#records.values()) {
      if (e.type === 'undrained' || e.type === 'unejected') continue; // markers, not intents in force
      out.push({
        kind: e.type === 'drill' || e.type === 'fault' ? e.type : 'drain',
        endpointId: e.endpointId,
        by: e.gatewayId,
        reason: e.cause,
        at: e.at,
        ...(Number.isFinite(until) && { until }),
      });
    }
    return out;
  }

  get size(): number {
    return this.#records.size;
  }
}
