/**
 * The receiving half every store shares: validates raw messages and snapshot entries, drops this
 * gateway's own events, counts what it sees and fans out to listeners (a throwing listener is
 * isolated). Stores feed it bytes; they never parse events themselves.
 */
import { parseFleetEvent, type FleetEvent } from './fleet-event.js';
import { callSafely, type EventListener, type SnapshotListener } from './state-store.js';

export class EventInbox {
  readonly #gatewayId: string;
  readonly #onListenerError: (err: unknown) => void;
  readonly #eventListeners = new Set<EventListener>();
  readonly #snapshotListeners = new Set<SnapshotListener>();
  received = 0;
  malformed = 0;

  constructor(gatewayId: string, onListenerError: (err: unknown) => void) {
    this.#gatewayId = gatewayId;
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
    const event = parseFleetEvent(raw);
    if (!event) {
      this.malformed++;
      return;
    }
    if (event.gatewayId === this.#gatewayId) return;
    this.received++;
    for (const fn of [...this.#eventListeners]) callSafely(fn, [event], this.#onListenerError);
  }

  /** One snapshot load (raw hash values); returns the valid remote events it delivered. */
  snapshot(raws: readonly unknown[], since: number): FleetEvent[] {
    const events: FleetEvent[] = [];
    for (const raw of raws) {
      const event = parseFleetEvent(raw);
      if (!event) this.malformed++;
      else if (event.gatewayId !== this.#gatewayId) events.push(event);
    }
    for (const fn of [...this.#snapshotListeners]) callSafely(fn, [events, since], this.#onListenerError);
    return events;
  }

  clear(): void {
    this.#eventListeners.clear();
    this.#snapshotListeners.clear();
  }
}
