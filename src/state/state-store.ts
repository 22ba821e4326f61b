/**
 * The `StateStore` contract shared by `MemoryStore` and `RedisStore` (one contract test runs on both,
 * `test/state-contract.ts`). A store moves `FleetEvent`s between gateways: pub/sub for speed, plus a
 * snapshot that every gateway rewrites and reads on a fixed interval, which heals lost messages and
 * lets a newcomer start with the fleet's current state. A store never blocks or fails the caller
 * because its backend is slow or down: it reports `degraded` and keeps reconnecting.
 */
import type { Clock } from '../util/clock.js';
import type { FleetEvent } from './fleet-event.js';
import type { SnapshotEntry } from './snapshot.js';

export type StoreKind = 'memory' | 'redis';

/** What the admin API shows about the store. */
export interface StateStoreStatus {
  readonly store: StoreKind;
  /** The store can publish and receive right now. */
  readonly connected: boolean;
  /** Not connected, heartbeats missing, or the last snapshot refresh failed. */
  readonly degraded: boolean;
  /** The first error of the latest incident: its root cause, not the echoes that follow it. */
  readonly lastError?: string;
  /** Events accepted by the backend. */
  readonly published: number;
  /** Remote events delivered to listeners (own events are not counted). */
  readonly received: number;
  /** Events not published: backend down, too many in flight, invalid, or failed. */
  readonly dropped: number;
  /** Incoming messages or snapshot entries rejected by validation (unreadable or out of bounds). */
  readonly malformed: number;
  /** Incoming messages or snapshot entries dropped for a missing or wrong signature (`state.secret`). */
  readonly rejected: number;
  /**
   * Whether fleet messages are signed and checked. False: no `state.secret`, so this gateway trusts
   * every writer of the store (with Redis, anyone who can write to it).
   */
  readonly signed: boolean;
  /** Epoch ms of the last successful snapshot refresh. */
  readonly lastSyncAt?: number;
}

/**
 * `fleet`: one traffic summary per gateway (src/fleet); `drills`: one record per drill with its report;
 * `load`: one record per live gateway with the load signals it scraped for the fleet (src/load).
 */
export type RecordBook = 'fleet' | 'drills' | 'load';

/** One record to write into a `RecordBook`. */
export interface RecordWrite {
  readonly field: string;
  /** Lifetime in ms (> 0). */
  readonly ttl: number;
  readonly raw: string;
}

export type EventListener = (event: FleetEvent) => void;

/**
 * Receives every successful snapshot load: the remote events currently in the snapshot (expired ones
 * pruned) and `since`, the clock's epoch ms when the load was requested. State received before `since`
 * and absent from `events` is gone from the fleet (see `FleetView.applySnapshot`).
 */
export type SnapshotListener = (events: readonly FleetEvent[], since: number) => void;

export interface StateStore {
  readonly kind: StoreKind;
  /** Connect (or attach) and load the snapshot once. Never rejects because the backend is down. */
  start(): Promise<void>;
  /**
   * Send one of this gateway's events to the fleet and record it in the snapshot: a report under its
   * (endpoint, gateway, class) record, an intent (drain, undrain, drill) under its (endpoint, class)
   * record, which outlives this gateway. Fire-and-forget: returns at once, never throws, never queues
   * without bound; a failure only counts as dropped.
   */
  publish(event: FleetEvent): void;
  /** Listen to remote events (events from this gateway are never delivered). Returns an unsubscribe. */
  onEvent(fn: EventListener): () => void;
  /** Listen to snapshot loads (each refresh, reconnect and start). Returns an unsubscribe. */
  onSnapshot(fn: SnapshotListener): () => void;
  /**
   * Rewrite this gateway's active reports into the snapshot, prune expired entries and load the rest
   * (the same work the refresh interval does). Resolves the remote events, or undefined when the
   * backend cannot be reached. Never rejects.
   */
  refresh(): Promise<readonly FleetEvent[] | undefined>;
  /**
   * A named hash of signed records beside the snapshot (`RecordBook`): write `own` (field, lifetime in
   * ms, message) if given, prune expired entries by the store's clock, and read back the rest (at most
   * `MAX_SNAPSHOT_ENTRIES`). Undefined when the backend cannot be reached. Never rejects; called on
   * timers and by the admin API, never on the request path.
   */
  exchangeRecords(book: RecordBook, own: RecordWrite | undefined): Promise<readonly SnapshotEntry[] | undefined>;
  /**
   * Take `key` for `ttlMs` if no one holds it (Redis `SET key NX PX`): true when this call took it,
   * false when another holder has it, undefined when the backend cannot be reached. Exactly one
   * gateway of a fleet wins a given key until it expires (scheduled drills). Never rejects.
   */
  claim(key: string, ttlMs: number): Promise<boolean | undefined>;
  status(): StateStoreStatus;
  /** Close every connection and timer. Idempotent. */
  close(): Promise<void>;
}

/** What every store is built with. */
export interface StateStoreOptions {
  readonly gatewayId: string;
  readonly clock: Clock;
  /**
   * Every report this gateway currently asserts (active ejections, open breakers, rate limits),
   * rewritten into the snapshot on each refresh (intents returned here are ignored). The gateway's other snapshot entries are
   * deleted then, so an event this returns no more disappears from the fleet within one interval.
   */
  readonly localEvents: () => readonly FleetEvent[];
  /** Fixed snapshot refresh interval (constant work, whether or not anything changed). */
  readonly refreshIntervalMs?: number;
  /** `state.secret`: sign every message and drop any without a valid signature. */
  readonly secret?: string;
}

export const DEFAULT_REFRESH_INTERVAL_MS = 2000;

/** A listener that throws must not break the store or other listeners; its error is kept for status. */
export function callSafely<A extends unknown[]>(fn: (...args: A) => void, args: A, onError: (err: unknown) => void): void {
  try {
    fn(...args);
  } catch (err) {
    onError(err);
  }
}

/** A short text for `status().lastError`. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The counters and marks every store keeps, for `storeStatus`. */
export interface StoreCounters {
  readonly lastError: string | undefined;
  readonly published: number;
  readonly dropped: number;
  readonly inbox: { readonly received: number; readonly malformed: number; readonly rejected: number };
  readonly signed: boolean;
  readonly lastSyncAt: number | undefined;
}

/** A store's `status()` from its state and counters (optional fields only when set). */
export function storeStatus(store: StoreKind, connected: boolean, degraded: boolean, c: StoreCounters): StateStoreStatus {
  return {
    store,
    connected,
    degraded,
    ...(c.lastError !== undefined && { lastError: c.lastError }),
    published: c.published,
    received: c.inbox.received,
    dropped: c.dropped,
    malformed: c.inbox.malformed,
    rejected: c.inbox.rejected,
    signed: c.signed,
    ...(c.lastSyncAt !== undefined && { lastSyncAt: c.lastSyncAt }),
  };
}
