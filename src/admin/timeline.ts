/**
 * The gateway's recent story for the dashboard: health transitions, operator actions and drills, newest
 * last, in a fixed ring (the oldest entry is overwritten), so a flapping endpoint cannot grow memory.
 * Listeners hear each entry as it is added (the SSE stream pushes it at once).
 */

/** What happened, as the dashboard shows it. */
export interface TimelineEntry {
  /** Epoch ms. */
  readonly at: number;
  readonly kind: 'transition' | 'action' | 'drill';
  /** The endpoint or region concerned. */
  readonly subject: string;
  /** One short line: `healthy → ejected (consecutive_5xx)`, `drain by operator`, `drill pass`. */
  readonly text: string;
}

export type TimelineListener = (entry: TimelineEntry) => void;

/** Entries kept by default. */
export const TIMELINE_SIZE = 200;

export class Timeline {
  readonly #ring: (TimelineEntry | undefined)[];
  #next = 0;
  #count = 0;
  readonly #listeners = new Set<TimelineListener>();

  constructor(size = TIMELINE_SIZE) {
    this.#ring = new Array<TimelineEntry | undefined>(size);
  }

  add(entry: TimelineEntry): void {
    this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#count = Math.min(this.#count + 1, this.#ring.length);
    for (const fn of this.#listeners) {
      try {
        fn(entry);
      } catch (err) {
        // A broken listener (a stream's write) never stops the others nor the health path that adds.
        process.emitWarning(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Oldest first. */
  entries(): TimelineEntry[] {
    const out: TimelineEntry[] = [];
    const start = (this.#next - this.#count + this.#ring.length) % this.#ring.length;
    for (let i = 0; i < this.#count; i++) out.push(this.#ring[(start + i) % this.#ring.length]!);
    return out;
  }

  /** Subscribe; returns the unsubscribe function. */
  onEntry(fn: TimelineListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}
