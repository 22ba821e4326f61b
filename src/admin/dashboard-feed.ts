/**
 * What the dashboard's event stream carries: one `snapshot` combining this gateway's state, the fleet
 * view, the drills kept in the store, the timeline and the traffic-share history, plus the regions'
 * providers (the page groups regions by them). Drill records live in the store, so they are read off the
 * snapshot path, at most every `DRILL_READ_MS`, and a drill that appears or changes status becomes a
 * timeline entry.
 */
import type { DrillRecord } from '../fleet/fleet-board.js';
import type { ShareHistory } from '../fleet/share-history.js';
import type { Clock } from '../util/clock.js';
import type { Timeline } from './timeline.js';

/** How often the drill list is read from the store while someone watches. */
export const DRILL_READ_MS = 3000;

export interface DashboardFeedOptions {
  readonly clock: Clock;
  readonly state: () => unknown;
  readonly fleet: () => unknown;
  readonly drills: () => Promise<readonly DrillRecord[] | undefined>;
  readonly timeline: Timeline;
  readonly shares: ShareHistory;
  /** Region name → provider, read at each snapshot (a config reload may add regions). */
  readonly providers: () => Readonly<Record<string, string>>;
}

export class DashboardFeed {
  readonly #o: DashboardFeedOptions;
  #drills: readonly DrillRecord[] | undefined;
  #drillsReadAt = -Infinity;
  #reading = false;
  /** Status of each drill last read; undefined before the first read (nothing is news then). */
  #statuses: Map<string, string> | undefined;

  constructor(opts: DashboardFeedOptions) {
    this.#o = opts;
  }

  /** The `snapshot` event's data. */
  snapshot(): unknown {
    this.#refreshDrills();
    return {
      at: this.#o.clock.now(),
      state: this.#o.state(),
      fleet: this.#o.fleet(),
      providers: this.#o.providers(),
      drills: this.#drills ?? null,
      timeline: this.#o.timeline.entries(),
      shares: this.#o.shares.samples(),
    };
  }

  #refreshDrills(): void {
    const now = this.#o.clock.monotonic();
    if (this.#reading || now - this.#drillsReadAt < DRILL_READ_MS) return;
    this.#reading = true;
    this.#drillsReadAt = now;
    this.#o
      .drills()
      .then((list) => {
        if (list === undefined) return; // store unreachable: keep showing the last list
        this.#note(list);
        this.#drills = list;
      })
      .catch(() => {}) // a failed read shows the last list; the next tick tries again
      .finally(() => {
        this.#reading = false;
      });
  }

  /** Timeline entries for drills that are new or changed status since the last read. */
  #note(list: readonly DrillRecord[]): void {
    const statuses = new Map(list.map((d) => [d.id, d.status]));
    if (this.#statuses !== undefined)
      for (const d of list)
        if (this.#statuses.get(d.id) !== d.status) this.#o.timeline.add({ at: this.#o.clock.now(), kind: 'drill', subject: d.region, text: `drill ${d.id} ${d.status}` });
    this.#statuses = statuses;
  }
}
