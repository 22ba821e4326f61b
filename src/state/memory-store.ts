/**
 * The in-process store: the default for a single gateway, and a fleet in one process for tests. Stores
 * attached to the same `MemoryBus` see each other's events (delivered asynchronously, like a network)
 * and share one snapshot with the same refresh and prune rules as Redis (`snapshot.ts`).
 */
import type { TimerHandle } from '../util/clock.js';
import { EventInbox } from './event-inbox.js';
import { isIntent, recordKey, toFleetEvent, type FleetEvent } from './fleet-event.js';
import { FleetSigner } from './fleet-signer.js';
import { FleetCodec } from './fleet-wire.js';
import { refreshSnapshot, snapshotField, storedValue, type SnapshotEntry } from './snapshot.js';
import {
  DEFAULT_REFRESH_INTERVAL_MS,
  errorText,
  type EventListener,
  type RecordBook,
  type RecordWrite,
  type SnapshotListener,
  type StateStore,
  type StateStoreOptions,
  type StateStoreStatus,
  storeStatus,
} from './state-store.js';

interface BusMember {
  deliver(raw: string): void;
}

/**
 * Record books and claims held in this process, with Redis's rules (`REFRESH_SCRIPT`, `SET NX PX`): a
 * `MemoryBus`'s, and the `--workers` primary's, which holds them for all its workers (`IpcBus`).
 */
export class LocalRecords {
  readonly #books = new Map<RecordBook, Map<string, string>>();
  /** Claimed keys and when they expire (epoch ms); pruned at each claim, so bounded by the live ones. */
  readonly #claims = new Map<string, number>();

  /** `REFRESH_SCRIPT` on a record book: write `own`, prune, return the rest. */
  exchange(book: RecordBook, own: RecordWrite | undefined, now: number, gatewayId: string): SnapshotEntry[] {
    let hash = this.#books.get(book);
    if (hash === undefined) this.#books.set(book, (hash = new Map()));
    return refreshSnapshot(hash, own === undefined ? [] : [[own.field, own.ttl, own.raw]], now, gatewayId);
  }

  /** `SET key NX PX ttl`: true when `key` was free (or expired) and is now held until `now + ttl`. */
  claim(key: string, ttl: number, now: number): boolean {
    for (const [k, until] of this.#claims) if (until <= now) this.#claims.delete(k);
    if (this.#claims.has(key)) return false;
    this.#claims.set(key, now + ttl);
    return true;
  }
}

/** The shared medium of several `MemoryStore`s: a channel, a snapshot hash, record books and claims. */
export class MemoryBus {
  readonly #members = new Set<BusMember>();
  readonly #snapshot = new Map<string, string>();
  readonly #records = new LocalRecords();

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

  /** Set one snapshot field to a stored value (`"<deadline> <message>"`, see `snapshot.ts`). */
  write(field: string, value: string): void {
    this.#snapshot.set(field, value);
  }

  /** Record one message with a lifetime of `ttl` ms from `now` (0: no end), as Redis `PUT_SCRIPT` does. */
  put(field: string, ttl: number, raw: string, now: number): void {
    this.write(field, storedValue(ttl, raw, now));
  }

  /** Rewrite `gatewayId`'s active reports, prune, and return every remaining entry. */
  refresh(own: readonly (readonly [string, number, string])[], now: number, gatewayId: string): SnapshotEntry[] {
    return refreshSnapshot(this.#snapshot, own, now, gatewayId);
  }

  /**
   * `REFRESH_SCRIPT` on a record book: write `own`, prune, return the rest. A bus that spans processes
   * (`IpcBus`) answers asynchronously, undefined when the holder does not answer.
   */
  exchangeRecords(book: RecordBook, own: RecordWrite | undefined, now: number, gatewayId: string): SnapshotEntry[] | Promise<SnapshotEntry[] | undefined> {
    return this.#records.exchange(book, own, now, gatewayId);
  }

  /** `SET key NX PX ttl`: true when `key` was free (or expired) and is now held until `now + ttl`. */
  claim(key: string, ttl: number, now: number): boolean | Promise<boolean | undefined> {
    return this.#records.claim(key, ttl, now);
  }

  /** Delete fields that failed a reader's checks. */
  remove(fields: readonly string[]): void {
    for (const f of fields) this.#snapshot.delete(f);
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
  readonly #codec: FleetCodec;
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
    this.#codec = new FleetCodec(new FleetSigner(opts.secret), opts.clock);
    this.#inbox = new EventInbox(opts.gatewayId, this.#codec, (err) => {
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
    const { raw, ttl } = this.#codec.encode(valid);
    this.bus.put(snapshotField(valid), ttl, raw, this.#opts.clock.now());
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
      local = this.#opts.localEvents().filter((e) => e.gatewayId === this.#opts.gatewayId && !isIntent(e) && toFleetEvent(e));
    } catch (err) {
      this.#lastError = `localEvents: ${errorText(err)}`;
      return undefined;
    }
    const own = local.map((e) => {
      const { raw, ttl } = this.#codec.encode(e);
      return [recordKey(e), ttl, raw] as const;
    });
    const entries = this.bus.refresh(own, now, this.#opts.gatewayId);
    this.#lastSyncAt = now;
    const { events, bad } = this.#inbox.snapshot(entries, now);
    this.bus.remove(bad);
    return events;
  }

  async exchangeRecords(book: RecordBook, own: RecordWrite | undefined): Promise<readonly SnapshotEntry[] | undefined> {
    if (!this.#detach) return undefined;
    return await this.bus.exchangeRecords(book, own, this.#opts.clock.now(), this.#opts.gatewayId);
  }

  async claim(key: string, ttlMs: number): Promise<boolean | undefined> {
    if (!this.#detach) return undefined;
    return await this.bus.claim(key, ttlMs, this.#opts.clock.now());
  }

  status(): StateStoreStatus {
    const connected = this.#detach !== undefined;
    return storeStatus('memory', connected, !connected, {
      lastError: this.#lastError,
      published: this.#published,
      dropped: this.#dropped,
      inbox: this.#inbox,
      signed: this.#codec.signed,
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
