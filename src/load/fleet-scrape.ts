/**
 * Scrape once per fleet: each endpoint's load metrics are read by ONE live gateway, its rendezvous owner
 * (`scrape-owners.ts`), which shares the parsed values through the store; the others use them.
 *
 * On a fixed interval (the shortest `loadSignals.interval`) each gateway makes one store round trip
 * (`exchangeRecords('load', ...)`, off the request path): it writes its signed record (that it is live,
 * and its own fresh reads of the endpoints it owns, with their age) with a lifetime of `liveTtlMs`, and
 * reads every record back. The live set is the gateways with an unexpired, valid record; ownership
 * follows it, so when an owner dies its record expires and the next gateway in the ranking takes over
 * within `liveTtlMs` plus one interval.
 *
 * Trust rule: a shared read moves this gateway's routing only if it is in a record signed with the
 * fleet's secret, whose store field names the gateway inside it, for an endpoint with `loadSignals`,
 * and the writer is that endpoint's owner in this gateway's own ranking. Anything else is refused and
 * counted; a forged or malformed record does not count as a live gateway either, so it cannot attract
 * ownership. (The secret is shared: a signature proves fleet membership, not which member wrote.)
 *
 * Static stability: a gateway scrapes an endpoint itself when the store is unreachable or degraded,
 * when it owns the endpoint, or when the owner's shared values are older than `staleAfter` (it has not
 * heard them): shared values age like local ones, measured from the owner's read, by the owner's
 * relative age plus the store's clock, so clock skew between gateways never matters.
 */
import { decodeRecord, encodeRecord } from '../fleet/signed-record.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { FleetSigner } from '../state/fleet-signer.js';
import type { SnapshotEntry } from '../state/snapshot.js';
import type { StateStore } from '../state/state-store.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { LoadSignals } from './engine-metrics.js';
import type { LoadBook } from './load-book.js';
import { ScrapeOwners } from './scrape-owners.js';
import {
  MAX_LOAD_RECORD_BYTES,
  fromSharedRead,
  sharedLoadRecordSchema,
  toSharedRead,
  totalOnly,
  type SharedLoadRecord,
  type SharedRead,
} from './shared-load-record.js';

/** Gateways counted as live at most (records beyond are ignored): bounds the ranking work. */
export const MAX_LIVE_GATEWAYS = 256;

export interface FleetScrapeOptions {
  readonly gatewayId: string;
  readonly clock: Clock;
  readonly store: StateStore;
  readonly signer: FleetSigner;
  readonly book: LoadBook;
  readonly endpoints: readonly Endpoint[];
  /** One exchange with the store per interval. */
  readonly intervalMs: number;
  /** Lifetime of this gateway's record: silent this long, a gateway is no longer live. */
  readonly liveTtlMs: number;
  /** Shared values older than this are not heard: the endpoint is scraped locally. */
  readonly staleAfter: number;
}

/** Who produced an endpoint's current values, and who owns it (`/admin/state`). */
export interface ScrapeSource {
  /** `self`, the gatewayId whose shared read is in use, or null before any read. */
  readonly source: string | null;
  /** The endpoint's owner in this gateway's ranking; null while the store is not used. */
  readonly owner: string | null;
}

export interface FleetScrapeStatus {
  /** Shared values are in use (false: the store is unreachable or degraded, every endpoint is scraped here). */
  readonly sharing: boolean;
  readonly liveGateways: readonly string[];
  /** Endpoints this gateway owns. */
  readonly owned: number;
  readonly exchanges: number;
  readonly failedExchanges: number;
  /** Own reads written to the store. */
  readonly published: number;
  /** Shared reads applied. */
  readonly accepted: number;
  /** Records that are unsigned, malformed or too large (each counted once while it stays the same). */
  readonly refusedRecords: number;
  /** Reads in valid records for an endpoint the writer does not own here, or that this gateway does not know. */
  readonly refusedReads: number;
}

interface LocalRead {
  readonly byModel: ReadonlyMap<string, LoadSignals>;
  /** clock.monotonic() of the read. */
  readonly at: number;
  readonly n: number;
}

export class FleetScrape {
  readonly #o: FleetScrapeOptions;
  #byId: ReadonlyMap<string, Endpoint>;
  readonly #owners: ScrapeOwners;
  readonly #local = new Map<string, LocalRead>();
  /** Who produced the values now in the book, per endpoint. */
  readonly #source = new Map<string, string>();
  /** clock.monotonic() of the owner's read behind the newest shared values heard, per endpoint. */
  readonly #heardReadAt = new Map<string, number>();
  /** When ownership of the endpoint last moved to another gateway (a grace before it is heard). */
  readonly #deferredAt = new Map<string, number>();
  /** `gatewayId n` of the last shared read applied, per endpoint. */
  readonly #applied = new Map<string, string>();
  /** `gatewayId n` of the last shared read refused, per endpoint (counted once, not at every exchange). */
  readonly #refused = new Map<string, string>();
  #refusedBefore = new Set<string>();
  #reads = 0;
  #timer: TimerHandle | undefined;
  #running = false;
  #lastExchangeAt: number | undefined;
  #sharing = false;
  #exchanges = 0;
  #failed = 0;
  #published = 0;
  #accepted = 0;
  #refusedRecords = 0;
  #refusedReads = 0;

  constructor(opts: FleetScrapeOptions) {
    this.#o = opts;
    const targets = opts.endpoints.filter((e) => e.loadSignals !== undefined);
    this.#byId = new Map(targets.map((e) => [e.id, e]));
    this.#owners = new ScrapeOwners(targets.map((e) => e.id));
  }

  /** A config reload changed the endpoints: share and own the new set (the exchange loop keeps its interval). */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    const targets = endpoints.filter((e) => e.loadSignals !== undefined);
    this.#byId = new Map(targets.map((e) => [e.id, e]));
    this.#owners.setEndpoints(targets.map((e) => e.id));
  }

  /** Exchange once now (resolves when done), then on the interval. */
  async start(): Promise<void> {
    if (this.#timer || this.#byId.size === 0) return;
    this.#timer = this.#o.clock.setInterval(() => void this.tick(), this.#o.intervalMs);
    this.#timer.unref();
    await this.tick();
  }

  close(): void {
    this.#o.clock.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether this gateway should read `endpoint`'s metrics itself now. */
  shouldScrape(endpoint: Endpoint): boolean {
    if (!this.#sharingNow()) return true;
    const owner = this.#owners.owner(endpoint.id);
    if (owner === undefined || owner === this.#o.gatewayId) return true;
    const last = Math.max(this.#heardReadAt.get(endpoint.id) ?? -Infinity, this.#deferredAt.get(endpoint.id) ?? -Infinity);
    return this.#o.clock.monotonic() - last > this.#o.staleAfter;
  }

  /** This gateway read `endpoint`'s metrics (already recorded in the book). */
  noteRead(endpoint: Endpoint, byModel: ReadonlyMap<string, LoadSignals>): void {
    this.#local.set(endpoint.id, { byModel, at: this.#o.clock.monotonic(), n: ++this.#reads });
    this.#source.set(endpoint.id, 'self');
  }

  source(endpoint: Endpoint): ScrapeSource {
    return { source: this.#source.get(endpoint.id) ?? null, owner: this.#sharingNow() ? (this.#owners.owner(endpoint.id) ?? null) : null };
  }

  status(): FleetScrapeStatus {
    let owned = 0;
    for (const id of this.#byId.keys()) if (this.#owners.owner(id) === this.#o.gatewayId) owned++;
    return {
      sharing: this.#sharingNow(),
      liveGateways: this.#owners.live,
      owned,
      exchanges: this.#exchanges,
      failedExchanges: this.#failed,
      published: this.#published,
      accepted: this.#accepted,
      refusedRecords: this.#refusedRecords,
      refusedReads: this.#refusedReads,
    };
  }

  /** Write this gateway's record and read the fleet's (one store round trip). */
  async tick(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const own = this.#ownReads();
      const raw = this.#encode(own);
      const entries = await this.#o.store.exchangeRecords('load', { field: this.#o.gatewayId, ttl: this.#o.liveTtlMs, raw });
      if (entries === undefined) {
        this.#failed++;
        this.#sharing = false;
        return;
      }
      this.#exchanges++;
      this.#published += own.length;
      this.#apply(entries);
    } finally {
      this.#running = false;
    }
  }

  #sharingNow(): boolean {
    const at = this.#lastExchangeAt;
    return this.#sharing && at !== undefined && this.#o.clock.monotonic() - at <= this.#o.staleAfter && !this.#o.store.status().degraded;
  }

  /** Fresh reads this gateway made of the endpoints it owns. */
  #ownReads(): SharedRead[] {
    const now = this.#o.clock.monotonic();
    const out: SharedRead[] = [];
    for (const [id, r] of this.#local) {
      if (this.#owners.owner(id) !== this.#o.gatewayId || now - r.at > this.#o.staleAfter) continue;
      out.push(toSharedRead(id, r.n, now - r.at, r.byModel));
    }
    return out;
  }

  /** The signed record within its size bound: totals only if needed, then fewer endpoints. */
  #encode(reads: SharedRead[]): string {
    const { signer, gatewayId, liveTtlMs } = this.#o;
    const enc = (r: SharedRead[]): string => encodeRecord(signer, 'load-share', { gatewayId, ttlMs: liveTtlMs, reads: r } satisfies SharedLoadRecord);
    let raw = enc(reads);
    if (raw.length <= MAX_LOAD_RECORD_BYTES) return raw;
    let fewer = reads.map(totalOnly);
    while ((raw = enc(fewer)).length > MAX_LOAD_RECORD_BYTES) fewer = fewer.slice(0, Math.floor(fewer.length / 2));
    return raw;
  }

  #apply(entries: readonly SnapshotEntry[]): void {
    const o = this.#o;
    const now = o.clock.monotonic();
    const records: { record: SharedLoadRecord; heldMs: number }[] = [];
    const refused = new Set<string>();
    for (const e of entries) {
      const record = decodeRecord(o.signer, 'load-share', e.raw, MAX_LOAD_RECORD_BYTES, sharedLoadRecordSchema);
      // A record without a lifetime was not written by a gateway (each gives its record one).
      if (record === undefined || record.gatewayId !== e.field || e.left < 0) {
        const key = `${e.field}\n${e.raw}`;
        refused.add(key);
        if (!this.#refusedBefore.has(key)) this.#refusedRecords++;
        continue;
      }
      if (record.gatewayId === o.gatewayId || records.length >= MAX_LIVE_GATEWAYS - 1) continue;
      records.push({ record, heldMs: Math.max(0, record.ttlMs - e.left) });
    }
    this.#refusedBefore = refused;
    this.#setLive([o.gatewayId, ...records.map((r) => r.record.gatewayId)], now);
    this.#sharing = true;
    this.#lastExchangeAt = now;
    for (const { record, heldMs } of records) for (const read of record.reads) this.#applyRead(record.gatewayId, read, read.ageMs + heldMs, now);
  }

  #setLive(live: readonly string[], now: number): void {
    for (const id of this.#owners.setLive(live)) if (this.#owners.owner(id) !== this.#o.gatewayId) this.#deferredAt.set(id, now);
  }

  #applyRead(writer: string, read: SharedRead, ageMs: number, now: number): void {
    const endpoint = this.#byId.get(read.endpoint);
    const id = `${writer} ${read.n}`;
    if (endpoint === undefined || this.#owners.owner(read.endpoint) !== writer) {
      // Keyed by what this gateway knows, so unknown endpoint names cannot grow the map.
      const key = endpoint === undefined ? '' : read.endpoint;
      if (this.#refused.get(key) !== id) this.#refusedReads++;
      this.#refused.set(key, id);
      return;
    }
    if (ageMs > this.#o.staleAfter) return; // stale: not heard
    const readAt = now - ageMs;
    this.#heardReadAt.set(read.endpoint, Math.max(readAt, this.#heardReadAt.get(read.endpoint) ?? -Infinity));
    if (this.#applied.get(read.endpoint) === id) return; // the same read, written again
    this.#applied.set(read.endpoint, id);
    const bookAge = this.#o.book.ageMs(endpoint);
    if (bookAge !== undefined && bookAge <= ageMs) return; // this gateway's own read is newer
    this.#o.book.update(endpoint, fromSharedRead(read), readAt);
    this.#source.set(read.endpoint, writer);
    this.#accepted++;
  }
}
