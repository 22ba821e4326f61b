/**
 * The in-process store: the default for a single gateway, and a fleet in one process for tests. Stores
 * attached to the same `MemoryBus` see each other's events (delivered asynchronously, like a network)
 * and share one snapshot with the same refresh and prune rules as Redis (`snapshot.ts`).
 */
import type { TimerHandle } from '../util/clock.js';
import { EventInbox } from './event-inbox.js';
import { recordKey, toFleetEvent, type FleetEvent } from './fleet-event.js';
import { refreshSnapshot } from './snapshot.js';
import {
  DEFAULT_REFRESH_INTERVAL_MS,
  errorText,
  type EventListener,
  type SnapshotListener,
  type StateStore,
  type StateStoreOptions,
  type StateStoreStatus,
  storeStatus,
} from './state-store.js';

interface BusMember {
  deliver(raw: string): void;
}

/** The shared medium of several `MemoryStore`s: a channel and a snapshot hash. */
export class MemoryBus {
  readonly #members = new Set<BusMember>();
  readonly #snapshot = new Map<string, string>();

  attach(member: BusMember): () => void {
    this.#members.add(member);
    return () => this.#members.delete(member);
  }

  /** Deliver a raw message to every attached store, its sender included (stores drop their own). */
  publish(raw: string): void {
    for (const m of this.#members)
      queueMicrotask(() => {
        if (this.#members.has(m)) m.deliver(raw);
      });
  }

  /** Set one snapshot field (what a publish records). */
  write(field: string, value: string): void {
    this.#snapshot.set(field, value);
  }

  /** Rewrite `gatewayId`'s active events, prune, and return every remaining value. */
  refresh(events: readonly FleetEvent[], now: number, gatewayId: string): string[] {
    return refreshSnapshot(this.#snapshot, events, now, gatewayId);
  }

  /** Snapshot fields, for tests and the admin API. */
  get snapshotSize(): number {
    return this.#snapshot.size;
  }
}

export interface MemoryStoreOptions extends StateStoreOptions {
  /** Share a bus to build an in-process fleet; a private one by default. */
  readonly bus?: MemoryBus;
}

export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly bus: MemoryBus;
  readonly #opts: MemoryStoreOptions;
  readonly #inbox: EventInbox;
  #detach: (() => void) | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;
  #published = 0;
  #dropped = 0;
  #lastError: string | undefined;
  #lastSyncAt: number | undefined;

  constructor(opts: MemoryStoreOptions) {
    this.#opts = opts;
    this.bus = opts.bus ?? new MemoryBus();
    this.#inbox = new EventInbox(opts.gatewayId, (err) => {
      this.#lastError = `listener: ${errorText(err)}`;
    });
  }

  async start(): Promise<void> {
    if (this.#closed || this.#detach) return;
    this.#detach = this.bus.attach({ deliver: (raw) => this.#inbox.message(raw) });
    const every = this.#opts.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    this.#timer = this.#opts.clock.setInterval(() => void this.refresh(), every);
    this.#timer.unref();
    await this.refresh();
  }

  publish(event: FleetEvent): void {
    const valid = toFleetEvent(event);
    if (!this.#detach || !valid || valid.gatewayId !== this.#opts.gatewayId) {
      this.#dropped++;
      if (this.#detach) this.#lastError = 'publish: invalid event or foreign gatewayId';
      return;
    }
    const raw = JSON.stringify(valid);
    this.bus.write(recordKey(valid), raw);
    this.bus.publish(raw);
    this.#published++;
  }

  onEvent(fn: EventListener): () => void {
    return this.#inbox.onEvent(fn);
  }

  onSnapshot(fn: SnapshotListener): () => void {
    return this.#inbox.onSnapshot(fn);
  }

  async refresh(): Promise<readonly FleetEvent[] | undefined> {
    if (!this.#detach) return undefined;
    const now = this.#opts.clock.now();
    let local: readonly FleetEvent[];
    try {
      local = this.#opts.localEvents().filter((e) => e.gatewayId === this.#opts.gatewayId);
    } catch (err) {
      this.#lastError = `localEvents: ${errorText(err)}`;
      return undefined;
    }
    const raws = this.bus.refresh(local, now, this.#opts.gatewayId);
    this.#lastSyncAt = now;
    return this.#inbox.snapshot(raws, now);
  }

  status(): StateStoreStatus {
    const connected = this.#detach !== undefined;
    return storeStatus('memory', connected, !connected, {
      lastError: this.#lastError,
      published: this.#published,
      dropped: this.#dropped,
      inbox: this.#inbox,
      lastSyncAt: this.#lastSyncAt,
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#opts.clock.clearInterval(this.#timer);
    this.#timer = undefined;
    this.#detach?.();
    this.#detach = undefined;
    this.#inbox.clear();
  }
}
