/**
 * Trust rule 1, applied before publishing: a gateway whose own egress looks broken (most endpoints
 * failing from it alone, e.g. its NAT or DNS died) must not tell the fleet to eject them. Such a
 * gateway keeps ejecting locally and still publishes recoveries, drains, drills and rate limits
 * (a 429 is an answer from the endpoint, so it proves egress works).
 */
import type { FleetEvent, FleetEventType } from './fleet-event.js';

export const DEFAULT_EGRESS_THRESHOLD = 0.5;

/** Event types that accuse an endpoint of failing, withheld while egress looks broken. */
const ACCUSING: ReadonlySet<FleetEventType> = new Set<FleetEventType>(['ejected']);

/**
 * Whether a gateway that currently ejects `localEjectedCount` of `totalEndpoints` endpoints may publish
 * ejections: only while that share is at most `threshold`.
 */
export function shouldPublishEjection(
  localEjectedCount: number,
  totalEndpoints: number,
  threshold = DEFAULT_EGRESS_THRESHOLD,
): boolean {
  if (totalEndpoints <= 0) return false;
  return localEjectedCount / totalEndpoints <= threshold;
}

export interface EgressGuardOptions {
  /** Share of endpoints ejected locally above which this gateway's egress is considered broken. */
  readonly threshold?: number;
  readonly totalEndpoints: () => number;
  /** How many endpoints this gateway ejects (or has open breakers for) right now. */
  readonly localEjectedCount: () => number;
}

/** `shouldPublishEjection` bound to the health tracker's counts. */
export class EgressGuard {
  readonly #o: EgressGuardOptions;

  constructor(opts: EgressGuardOptions) {
    this.#o = opts;
  }

  /** True while most endpoints fail from here alone. */
  broken(): boolean {
    return !shouldPublishEjection(this.#o.localEjectedCount(), this.#o.totalEndpoints(), this.#o.threshold);
  }

  /** Whether `event` may go to the fleet now. */
  allows(event: FleetEvent): boolean {
    return !ACCUSING.has(event.type) || !this.broken();
  }

  /** The events that may go to the fleet now (use it in the store's `localEvents` provider). */
  filter(events: readonly FleetEvent[]): FleetEvent[] {
    if (!this.broken()) return [...events];
    return events.filter((e) => !ACCUSING.has(e.type));
  }
}
