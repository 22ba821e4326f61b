/**
 * How remote reports become an endpoint's effective remote state, so one broken gateway cannot take
 * the world down:
 * - Operator intents (`IntentBook`: one drain record and one drill record per endpoint, signed like
 *   every message) are authoritative: the admin API refuses one that would leave a model with no
 *   routable endpoint unless forced. A drain holds until undrained or its end; a drill ejects its
 *   endpoint until the drill's end (a fire drill rehearses losing it). An uneject marker (an operator
 *   put the endpoint back) voids every ejection report made before it, whoever made it.
 * - Ejections (`ejected`, whatever the cause) and rate limits count per reporting gateway. An endpoint
 *   reported by two or more gateways is confirmed. A single gateway's reports may impair at most
 *   `floor(maxShare × totalEndpoints)` endpoints: its confirmed ones use its quota first, then its
 *   unconfirmed ones in order of report time; the rest are withheld until another gateway confirms.
 * Records passed here are already unexpired (`FleetView` prunes and clamps expiries).
 */
import type { FleetEvent } from './fleet-event.js';

/** One gateway's latest event for an (endpoint, class), as held by `FleetView`. */
export interface RemoteRecord {
  readonly event: FleetEvent;
  /** Effective expiry (epoch ms): `expiresAt`, clamped by the view's maximum remote TTL. */
  readonly until: number;
  /** Local epoch ms when the event was last received or renewed. */
  readonly receivedAt: number;
}

/** What the fleet says about one endpoint, after trust rules. */
export interface RemoteEndpointState {
  /** Ejected (by confirmed or within-quota reports, or a drill) until this epoch ms. */
  readonly ejectedUntil?: number;
  readonly drained: boolean;
  /** With `drained`: until when (epoch ms; `Infinity` until undrained). */
  readonly drainedUntil?: number;
  /** A fire drill holds the endpoint until this epoch ms (operator intent: applied as a drain). */
  readonly drillUntil?: number;
  readonly rateLimitedUntil?: number;
  /**
   * The latest operator uneject (`at` of its marker, the maker's epoch ms): every gateway ends its own
   * ejection of the endpoint once per marker.
   */
  readonly unejectedAt?: number;
  /** Cause of the strongest applied report: drain > drill > ejection > rate limit. */
  readonly cause: string;
  /** Gateways whose reports are applied, sorted. */
  readonly from: readonly string[];
}

export interface TrustResult {
  readonly states: Map<string, RemoteEndpointState>;
  /** Reports (gateway, endpoint, kind) withheld by the per-gateway cap. */
  readonly withheld: number;
}

interface Gathered {
  drain?: RemoteRecord;
  drills: RemoteRecord[];
  uneject?: RemoteRecord;
  eject: Map<string, RemoteRecord[]>;
  rate: Map<string, RemoteRecord[]>;
}

const newer = (a: FleetEvent, b: FleetEvent): boolean =>
  a.at !== b.at ? a.at > b.at : a.seq !== b.seq ? a.seq > b.seq : a.gatewayId > b.gatewayId;

function gather(records: Iterable<RemoteRecord>): Map<string, Gathered> {
  const byEndpoint = new Map<string, Gathered>();
  for (const r of records) {
    const e = r.event;
    let g = byEndpoint.get(e.endpointId);
    if (!g) byEndpoint.set(e.endpointId, (g = { drills: [], eject: new Map(), rate: new Map() }));
    if (e.type === 'drained' || e.type === 'undrained') {
      if (!g.drain || newer(e, g.drain.event)) g.drain = r;
    } else if (e.type === 'drill') g.drills.push(r);
    else if (e.type === 'unejected') {
      if (!g.uneject || newer(e, g.uneject.event)) g.uneject = r;
    } else if (e.type === 'ejected' || e.type === 'rate_limited') {
      const m = e.type === 'rate_limited' ? g.rate : g.eject;
      m.set(e.gatewayId, [...(m.get(e.gatewayId) ?? []), r]);
    }
  }
  // An operator's uneject voids the ejection reports made before it (a gateway that ejects the endpoint
  // again afterwards reports it anew, with a later time).
  for (const g of byEndpoint.values()) {
    const voidBefore = g.uneject?.event.at;
    if (voidBefore === undefined) continue;
    for (const [gw, recs] of g.eject) {
      const kept = recs.filter((r) => r.event.at > voidBefore);
      if (kept.length > 0) g.eject.set(gw, kept);
      else g.eject.delete(gw);
    }
  }
  return byEndpoint;
}

/** Which (endpoint → reporters) of one kind apply under the per-gateway cap; counts withheld ones. */
function applyCap(
  reports: Map<string, Map<string, RemoteRecord[]>>,
  cap: number,
): { applied: Map<string, RemoteRecord[]>; withheld: number } {
  const used = new Map<string, number>();
  const applied = new Map<string, RemoteRecord[]>();
  const single: { gw: string; endpointId: string; at: number; recs: RemoteRecord[] }[] = [];
  for (const [endpointId, byGw] of reports) {
    if (byGw.size >= 2) {
      applied.set(endpointId, [...byGw.values()].flat());
      for (const gw of byGw.keys()) used.set(gw, (used.get(gw) ?? 0) + 1);
    } else {
      for (const [gw, recs] of byGw) single.push({ gw, endpointId, at: Math.min(...recs.map((r) => r.event.at)), recs });
    }
  }
  single.sort((a, b) => a.at - b.at || (a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0));
  let withheld = 0;
  for (const s of single) {
    const n = used.get(s.gw) ?? 0;
    if (n < cap) {
      used.set(s.gw, n + 1);
      applied.set(s.endpointId, s.recs);
    } else withheld++;
  }
  return { applied, withheld };
}

const maxUntil = (recs: readonly RemoteRecord[]): number | undefined =>
  recs.length === 0 ? undefined : Math.max(...recs.map((r) => r.until));

const latest = (recs: readonly RemoteRecord[]): RemoteRecord =>
  recs.reduce((a, b) => (newer(b.event, a.event) ? b : a));

/** The effective remote state of every endpoint some applied record concerns. */
export function effectiveStates(records: Iterable<RemoteRecord>, totalEndpoints: number, maxShare: number): TrustResult {
  const byEndpoint = gather(records);
  const cap = Math.max(0, Math.floor(maxShare * totalEndpoints));
  const pick = (kind: 'eject' | 'rate') =>
    applyCap(new Map([...byEndpoint].filter(([, g]) => g[kind].size > 0).map(([id, g]) => [id, g[kind]])), cap);
  const eject = pick('eject');
  const rate = pick('rate');
  const states = new Map<string, RemoteEndpointState>();
  for (const [endpointId, g] of byEndpoint) {
    const drained = g.drain?.event.type === 'drained';
    const ejections = eject.applied.get(endpointId) ?? [];
    const limits = rate.applied.get(endpointId) ?? [];
    const ejectedUntil = maxUntil(ejections);
    const drillUntil = maxUntil(g.drills);
    const rateLimitedUntil = maxUntil(limits);
    const unejectedAt = g.uneject?.event.at;
    if (!drained && ejectedUntil === undefined && drillUntil === undefined && rateLimitedUntil === undefined && unejectedAt === undefined) continue;
    const strongest =
      drained && g.drain
        ? g.drain
        : g.drills.length
          ? latest(g.drills)
          : ejections.length
            ? latest(ejections)
            : limits.length
              ? latest(limits)
              : g.uneject!;
    const from = new Set([...(drained && g.drain ? [g.drain] : []), ...g.drills, ...ejections, ...limits].map((r) => r.event.gatewayId));
    states.set(endpointId, {
      ...(ejectedUntil !== undefined && { ejectedUntil }),
      drained,
      ...(drained && g.drain && { drainedUntil: g.drain.until }),
      ...(drillUntil !== undefined && { drillUntil }),
      ...(rateLimitedUntil !== undefined && { rateLimitedUntil }),
      ...(unejectedAt !== undefined && { unejectedAt }),
      cause: strongest.event.cause,
      from: [...from].sort(),
    });
  }
  return { states, withheld: eject.withheld + rate.withheld };
}

/** Whether two states say the same (for change notifications). */
export function sameState(a: RemoteEndpointState | undefined, b: RemoteEndpointState | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.ejectedUntil === b.ejectedUntil &&
    a.drained === b.drained &&
    a.drainedUntil === b.drainedUntil &&
    a.drillUntil === b.drillUntil &&
    a.rateLimitedUntil === b.rateLimitedUntil &&
    a.unejectedAt === b.unejectedAt &&
    a.cause === b.cause &&
    a.from.join('\n') === b.from.join('\n')
  );
}
