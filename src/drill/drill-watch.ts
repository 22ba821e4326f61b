/**
 * What a drill reads from the fleet view while it runs: per gateway, the summaries seen in each phase
 * (before, during, after), from which it derives requests and client errors during the drill, latency
 * per phase, when the region stopped getting new attempts (shift), and where the traffic went.
 */
import { z } from 'zod';
import { fleetSummarySchema, type FleetSummary } from '../fleet/fleet-summary.js';

export const fleetViewSchema = z.object({
  intervalMs: z.number().int().positive(),
  stale: z.boolean(),
  gateways: z.array(fleetSummarySchema),
});
export type FleetViewAnswer = z.infer<typeof fleetViewSchema>;

export type Phase = 'before' | 'during' | 'after';

export interface PhaseLatency {
  /** Median of the per-window p50s seen in the phase (ms); null without traffic. */
  readonly p50Ms: number | null;
  /** Highest per-window p99 seen in the phase (ms). */
  readonly p99Ms: number | null;
}

export interface GatewayReport {
  readonly gatewayId: string;
  /** Ms from the drill's start to the last attempt this gateway started toward the region; null: never stopped. */
  readonly shiftMs: number | null;
  readonly requests: number;
  readonly clientErrors: number;
  readonly latency: Record<Phase, PhaseLatency>;
}

class GatewayTrack {
  readonly samples: Record<Phase, { p50: number[]; p99: number[] }> = { before: { p50: [], p99: [] }, during: { p50: [], p99: [] }, after: { p50: [], p99: [] } };
  start: FleetSummary | undefined;
  end: FleetSummary | undefined;
  lastAt = -1;
  /** Summaries during the drill in which the region got no new attempt and had none in flight. */
  quietSince: FleetSummary | undefined;
  previous: FleetSummary | undefined;
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

export class DrillWatch {
  readonly #region: string;
  readonly #tracks = new Map<string, GatewayTrack>();
  #startedAt = 0;

  constructor(region: string) {
    this.#region = region;
  }

  /** The drill began at `at` (epoch ms): counters from here on are the drill's. */
  begin(view: FleetViewAnswer, at: number): void {
    this.#startedAt = at;
    for (const s of view.gateways) this.#track(s.gatewayId).start = s;
  }

  /** One read of the fleet view in `phase`. */
  observe(view: FleetViewAnswer, phase: Phase): void {
    for (const s of view.gateways) {
      const t = this.#track(s.gatewayId);
      if (s.at <= t.lastAt) continue; // the same summary again
      t.lastAt = s.at;
      if (s.p50Ms !== null) t.samples[phase].p50.push(s.p50Ms);
      if (s.p99Ms !== null) t.samples[phase].p99.push(s.p99Ms);
      if (phase === 'during') {
        t.start ??= s; // a gateway that joined during the drill counts from its first summary
        t.end = s;
        const r = s.regions.find((x) => x.region === this.#region);
        const prevAttempts = t.previous?.regions.find((x) => x.region === this.#region)?.attempts;
        const quiet = r !== undefined && r.inflight === 0 && prevAttempts !== undefined && r.attempts === prevAttempts && s.at > this.#startedAt;
        if (!quiet) t.quietSince = undefined;
        else t.quietSince ??= s;
        t.previous = s;
      }
    }
  }

  /** Client requests and errors during the drill so far, over every gateway. */
  totals(): { requests: number; clientErrors: number } {
    let requests = 0;
    let clientErrors = 0;
    for (const t of this.#tracks.values()) {
      if (t.start === undefined || t.end === undefined) continue;
      requests += t.end.requests - t.start.requests;
      clientErrors += t.end.clientErrors - t.start.clientErrors;
    }
    return { requests, clientErrors };
  }

  /**
   * Client errors during the drill so far by cause (error code, or `http_<status>`), over every gateway,
   * most frequent first; gateways too old to send causes are left out.
   */
  errorCauses(): Record<string, number> {
    const sum = new Map<string, number>();
    for (const t of this.#tracks.values()) {
      const end = t.end?.clientErrorCauses;
      if (t.start === undefined || end === undefined) continue;
      const start = t.start.clientErrorCauses ?? {};
      for (const [cause, n] of Object.entries(end)) {
        const d = n - (start[cause] ?? 0);
        if (d > 0) sum.set(cause, (sum.get(cause) ?? 0) + d);
      }
    }
    return Object.fromEntries([...sum].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
  }

  /** Ms until the region got no new attempts on every gateway; null while some gateway still sends to it. */
  shiftMs(): number | null {
    let worst = 0;
    for (const g of this.gateways()) {
      if (g.shiftMs === null) return null;
      worst = Math.max(worst, g.shiftMs);
    }
    return worst;
  }

  gateways(): GatewayReport[] {
    const out: GatewayReport[] = [];
    for (const [gatewayId, t] of this.#tracks) {
      const last = t.quietSince?.regions.find((x) => x.region === this.#region)?.lastAttemptAt ?? null;
      const shiftMs = t.quietSince === undefined ? null : last === null ? 0 : Math.max(0, last - this.#startedAt);
      const lat = (p: Phase): PhaseLatency => ({ p50Ms: median(t.samples[p].p50), p99Ms: t.samples[p].p99.length ? Math.max(...t.samples[p].p99) : null });
      out.push({
        gatewayId,
        shiftMs,
        requests: t.start && t.end ? t.end.requests - t.start.requests : 0,
        clientErrors: t.start && t.end ? t.end.clientErrors - t.start.clientErrors : 0,
        latency: { before: lat('before'), during: lat('during'), after: lat('after') },
      });
    }
    return out.sort((a, b) => a.gatewayId.localeCompare(b.gatewayId));
  }

  /** Upstream attempts per region during the drill, over every gateway: where the traffic went. */
  traffic(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.#tracks.values()) {
      if (t.start === undefined || t.end === undefined) continue;
      for (const r of t.end.regions) {
        const before = t.start.regions.find((x) => x.region === r.region)?.attempts ?? 0;
        out[r.region] = (out[r.region] ?? 0) + Math.max(0, r.attempts - before);
      }
    }
    return out;
  }

  #track(id: string): GatewayTrack {
    let t = this.#tracks.get(id);
    if (t === undefined) this.#tracks.set(id, (t = new GatewayTrack()));
    return t;
  }
}
