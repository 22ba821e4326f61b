/**
 * The receiving half every store shares: decodes and checks raw messages and snapshot entries
 * (`FleetCodec`: bounds and signature), drops this gateway's own reports, counts what it sees and fans
 * out to listeners (a throwing listener is isolated). Stores feed it bytes; they never parse events
 * themselves. Intents are the fleet's, not their maker's: a snapshot delivers them whoever wrote them,
 * so a gateway that restarts applies the drains it made before.
 */
import { isIntent, type FleetEvent } from './fleet-event.js';
import type { FleetCodec } from './fleet-wire.js';
import { snapshotField, type SnapshotEntry } from './snapshot.js';
import { callSafely, type EventListener, type SnapshotListener } from './state-store.js';

export class EventInbox {
  readonly #gatewayId: string;
  readonly #codec: FleetCodec;
  readonly #onListenerError: (err: unknown) => void;
  readonly #eventListeners = new Set<EventListener>();
  readonly #snapshotListeners = new Set<SnapshotListener>();
  received = 0;
  /** Unreadable or out of bounds. */
  malformed = 0;
  /** Readable, but without a valid signature of the fleet's secret. */
  rejected = 0;

  constructor(gatewayId: string, codec: FleetCodec, onListenerError: (err: unknown) => void) {
    this.#gatewayId = gatewayId;
    this.#codec = codec;
    this.#onListenerError = onListenerError;
  }

  onEvent(fn: EventListener): () => void {
    this.#eventListeners.add(fn);
    return () => this.#eventListeners.delete(fn);
  }

  onSnapshot(fn: SnapshotListener): () => void {
    this.#snapshotListeners.add(fn);
    return () => this.#snapshotListeners.delete(fn);
  }

  /** One message from the bus. */
  message(raw: unknown): void {
    const d = this.#codec.decode(raw);
    if ('failure' in d) {
      this[d.failure]++;
      return;
    }
    if (d.event.gatewayId === this.#gatewayId) return;
    this.received++;
    for (const fn of [...this.#eventListeners]) callSafely(fn, [d.event], this.#onListenerError);
  }

  /**
   * One snapshot load: delivers its remote reports and every intent, and returns them with the fields
   * that failed the checks (the store deletes those, so a forged entry is counted once, not per load).
   */
  snapshot(entries: readonly SnapshotEntry[], since: number): { events: FleetEvent[]; bad: string[] } {
    const events: FleetEvent[] = [];
    const bad: string[] = [];
    for (const entry of entries) {
      const d = this.#codec.decode(entry.raw, entry.left);
      // A valid message copied under another field (another endpoint's, say) is malformed there.
      const failure = 'failure' in d ? d.failure : snapshotField(d.event) !== entry.field ? 'malformed' : undefined;
      if (failure !== undefined || 'failure' in d) {
        this[failure ?? 'malformed']++;
        bad.push(entry.field);
      } else if (d.event.gatewayId !== this.#gatewayId || isIntent(d.event)) events.push(d.event);
    }
    for (const fn of [...this.#snapshotListeners]) callSafely(fn, [events, since], this.#onListenerError);
    return { events, bad };
  }

  clear(): void {
    this.#eventListeners.clear();
    this.#snapshotListeners.clear();
  }
}
