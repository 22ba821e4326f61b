/**
 * The fleet view of one gateway (`GET /admin/fleet`) and the drill records (`GET/POST /admin/drills`).
 * On a fixed interval it builds this gateway's summary from the `TrafficTally` and the health snapshot,
 * writes it signed into the store's `fleet` book with a lifetime of a few intervals (a gateway that stops
 * publishing drops out) and reads every gateway's back. Nothing here runs on the request path. With the
 * store unreachable, the view shows this gateway (built on the spot), the others as last heard, and
 * `stale: true`.
 */
import { z } from 'zod';
import type { EndpointHealthSnapshot } from '../health/health-snapshot.js';
import type { FleetSigner } from '../state/fleet-signer.js';
import type { StateStore } from '../state/state-store.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { MAX_ENDPOINTS, MAX_SUMMARY_BYTES, fleetSummarySchema, type FleetSummary } from './fleet-summary.js';
import { decodeRecord, encodeRecord } from './signed-record.js';
import { mergedQuantiles, type SparseHistogram } from './latency-buckets.js';
import type { TrafficTally } from './traffic-tally.js';

/** A summary lives this many intervals in the store: one or two lost writes do not drop a gateway. */
const LIFETIMES = 3;
/** How long a drill record is kept. */
export const DRILL_RECORD_TTL_MS = 7 * 24 * 3_600_000;
export const MAX_DRILL_RECORD_BYTES = 64 * 1024;
/** `GET /admin/drills` answers the newest this many. */
export const MAX_DRILLS_LISTED = 100;
/**
 * A `running` record this long past its planned end was left by a drill process that died (its intent
 * expired on time all the same): listed with `abandoned: true`. Generous: the maker's clock may differ.
 */
export const ABANDONED_AFTER_MS = 5 * 60_000;

export const drillRecordSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/),
  region: z.string().min(1).max(200),
  startedAt: z.number().int().min(0),
  status: z.enum(['running', 'pass', 'fail', 'aborted']),
  /** The planned length (ms): a `running` record long past it is shown as abandoned. */
  durationMs: z.number().int().min(0).max(86_400_000).optional(),
  /** `drain` (the region out) or `fault` (a fault injected); absent in records from before fault mode. */
  mode: z.enum(['drain', 'fault']).optional(),
  /** Started from the command line (`cli`), by the config's schedule (`schedule`) or through `POST /admin/drills/run` (`admin`: the dashboard). */
  origin: z.enum(['cli', 'schedule', 'admin']).optional(),
  report: z.record(z.string(), z.unknown()).optional(),
});
export type DrillRecord = z.infer<typeof drillRecordSchema>;
/** A record as listed: `abandoned` on a `running` record whose drill never reported. */
export type ListedDrill = DrillRecord & { readonly abandoned?: true };

export interface FleetBoardOptions {
  readonly gatewayId: string;
  readonly clock: Clock;
  readonly store: StateStore;
  readonly signer: FleetSigner;
  readonly tally: TrafficTally;
  readonly endpoints: () => readonly EndpointHealthSnapshot[];
  readonly inflight: () => number;
  readonly intervalMs: number;
}

interface Heard {
  readonly summary: FleetSummary;
  /** How long ago the store received it (ms, by the store's clock), at `readAt`. */
  readonly ageMs: number;
  readonly readAt: number;
}

/**
 * Cumulative counters of the whole fleet, and per region; per region too, time to first byte p50/p99
 * over every gateway's last window together (merged buckets; null without samples).
 */
export interface FleetTotals {
  requests: number;
  clientErrors: number;
  inflight: number;
  regions: Record<string, { attempts: number; errors: number; inflight: number; p50Ms: number | null; p99Ms: number | null }>;
}

function fleetTotals(summaries: readonly FleetSummary[]): FleetTotals {
  const totals: FleetTotals = { requests: 0, clientErrors: 0, inflight: 0, regions: {} };
  const windows = new Map<string, SparseHistogram[]>();
  for (const s of summaries) {
    totals.requests += s.requests;
    totals.clientErrors += s.clientErrors;
    totals.inflight += s.inflight;
    for (const r of s.regions) {
      const t = (totals.regions[r.region] ??= { attempts: 0, errors: 0, inflight: 0, p50Ms: null, p99Ms: null });
      t.attempts += r.attempts;
      t.errors += r.errors;
      t.inflight += r.inflight;
      if (r.ttfb === undefined) continue;
      const hs = windows.get(r.region);
      if (hs === undefined) windows.set(r.region, [r.ttfb]);
      else hs.push(r.ttfb);
    }
  }
  for (const [region, hs] of windows) [totals.regions[region].p50Ms, totals.regions[region].p99Ms] = mergedQuantiles(hs, [0.5, 0.99]);
  return totals;
}

export class FleetBoard {
  readonly #o: FleetBoardOptions;
  #timer: TimerHandle | undefined;
  #own: FleetSummary | undefined;
  #heard = new Map<string, Heard>();
  #lastExchangeAt: number | undefined;
  #running = false;

  constructor(opts: FleetBoardOptions) {
    this.#o = opts;
  }

  start(): void {
    if (this.#timer) return;
    void this.tick();
    this.#timer = this.#o.clock.setInterval(() => void this.tick(), this.#o.intervalMs);
    this.#timer.unref();
  }

  close(): void {
    this.#o.clock.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Build and publish this gateway's summary, and read the fleet's. */
  async tick(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      this.#own = this.#build();
      const ttl = this.#o.intervalMs * LIFETIMES;
      const raw = this.#encode(this.#own);
      const entries = await this.#o.store.exchangeRecords('fleet', { field: this.#o.gatewayId, ttl, raw });
      if (entries === undefined) return;
      const now = this.#o.clock.now();
      const heard = new Map<string, Heard>();
      for (const e of entries) {
        const s = decodeRecord(this.#o.signer, 'fleet-summary', e.raw, MAX_SUMMARY_BYTES, fleetSummarySchema);
        if (s === undefined || s.gatewayId !== e.field) continue;
        heard.set(s.gatewayId, { summary: s, ageMs: Math.max(0, ttl - e.left), readAt: now });
      }
      this.#heard = heard;
      this.#lastExchangeAt = now;
    } finally {
      this.#running = false;
    }
  }

  /** The answer of `GET /admin/fleet`. */
  view(): unknown {
    const now = this.#o.clock.now();
    const stale = this.#lastExchangeAt === undefined || now - this.#lastExchangeAt > this.#o.intervalMs * LIFETIMES || this.#o.store.status().degraded;
    const list = this.#gateways(now);
    return {
      gatewayId: this.#o.gatewayId,
      at: now,
      intervalMs: this.#o.intervalMs,
      stale,
      ...(this.#lastExchangeAt !== undefined && { lastExchangeAt: this.#lastExchangeAt }),
      gateways: list.map((g) => ({ ...g.summary, lastHeardMsAgo: g.lastHeardMsAgo, self: g.summary.gatewayId === this.#o.gatewayId })),
      totals: fleetTotals(list.map((g) => g.summary)),
    };
  }

  /** The fleet-wide totals of the gateways heard (this one included), as in `view()`. */
  totals(): FleetTotals {
    return fleetTotals(this.#gateways(this.#o.clock.now()).map((g) => g.summary));
  }

  /** Every gateway heard and this one, by id. */
  #gateways(now: number): { summary: FleetSummary; lastHeardMsAgo: number }[] {
    const own = this.#own ?? this.#build();
    const gateways = new Map<string, { summary: FleetSummary; lastHeardMsAgo: number }>();
    for (const [id, h] of this.#heard) gateways.set(id, { summary: h.summary, lastHeardMsAgo: h.ageMs + (now - h.readAt) });
    gateways.set(this.#o.gatewayId, { summary: own, lastHeardMsAgo: Math.max(0, now - own.at) });
    return [...gateways.values()].sort((a, b) => a.summary.gatewayId.localeCompare(b.summary.gatewayId));
  }

  /** Keep a drill record (a start or a report) in the store. False when the store cannot be reached. */
  async recordDrill(record: DrillRecord): Promise<boolean> {
    const raw = encodeRecord(this.#o.signer, 'drill', record);
    const entries = await this.#o.store.exchangeRecords('drills', { field: record.id, ttl: DRILL_RECORD_TTL_MS, raw });
    return entries !== undefined;
  }

  /** The drills kept in the store, newest first (at most `MAX_DRILLS_LISTED`); undefined when the store cannot be reached. */
  async drills(): Promise<ListedDrill[] | undefined> {
    const entries = await this.#o.store.exchangeRecords('drills', undefined);
    if (entries === undefined) return undefined;
    const now = this.#o.clock.now();
    const out: ListedDrill[] = [];
    for (const e of entries) {
      const d = decodeRecord(this.#o.signer, 'drill', e.raw, MAX_DRILL_RECORD_BYTES * 2, drillRecordSchema);
      if (d === undefined || d.id !== e.field) continue;
      const over = d.status === 'running' && d.durationMs !== undefined && now > d.startedAt + d.durationMs + ABANDONED_AFTER_MS;
      out.push(over ? { ...d, abandoned: true } : d);
    }
    return out.sort((a, b) => b.startedAt - a.startedAt).slice(0, MAX_DRILLS_LISTED);
  }

  #build(): FleetSummary {
    const client = this.#o.tally.client();
    const { regions, all } = this.#o.tally.take();
    return {
      gatewayId: this.#o.gatewayId,
      at: this.#o.clock.now(),
      intervalMs: this.#o.intervalMs,
      requests: client.requests,
      clientErrors: client.clientErrors,
      clientErrorCauses: client.clientErrorCauses,
      inflight: this.#o.inflight(),
      ...all,
      regions,
      endpoints: this.#o.endpoints().slice(0, MAX_ENDPOINTS).map((e) => ({ id: e.id, region: e.region, state: e.state, cause: e.cause })),
    };
  }

  /** The signed message; the endpoint view is left out when the summary would be too large. */
  #encode(s: FleetSummary): string {
    const raw = encodeRecord(this.#o.signer, 'fleet-summary', s);
    return raw.length <= MAX_SUMMARY_BYTES ? raw : encodeRecord(this.#o.signer, 'fleet-summary', { ...s, endpoints: [] });
  }
}
