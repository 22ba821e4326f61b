/**
 * The data path's side of a fault drill: which endpoints have a fault in force (from the fleet's fault
 * intents, `FleetView.onFaults`), and whether this attempt gets it (`percent` of attempts, drawn with the
 * injected random source). The table is rebuilt off the request path whenever the intents change; a
 * draw is a map read, a clock read and one random number, and nothing at all while no fault is in force.
 * Counts per region and kind are kept here and read at scrape time (`regiongate_faults_injected_total`).
 */
import type { RemoteRecord } from '../state/trust-rules.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { decodeFault, FAULT_KINDS, type FaultKind, type FaultSpec } from './fault-spec.js';

/** A fault in force on one endpoint. */
export interface ActiveFault {
  readonly endpointId: string;
  readonly spec: FaultSpec;
  /** The drill that asked for it (the intent's reason). */
  readonly reason: string;
  /** Local epoch ms when it ends. */
  readonly until: number;
}

/** What the exchange asks before it sends an attempt. */
export interface FaultDraw {
  /** The fault this attempt toward `endpoint` gets, or undefined (most attempts, and always without a drill). */
  draw(endpoint: { readonly id: string; readonly region: string }): ActiveFault | undefined;
}

export class FaultInjector implements FaultDraw {
  readonly #clock: Clock;
  readonly #random: Random;
  #active: ReadonlyMap<string, ActiveFault> = new Map();
  /** Injected faults per region and kind; one key per region (at start, or on the first fault in a region a reload added). */
  readonly #counts = new Map<string, Record<FaultKind, number>>();
  readonly #onInjected: ((region: string, fault: FaultKind) => void) | undefined;

  /** `onInjected`: told of each injection (OpenTelemetry's counter, when a meter provider is registered). */
  constructor(regions: Iterable<string>, clock: Clock, random: Random, onInjected?: (region: string, fault: FaultKind) => void) {
    this.#clock = clock;
    this.#random = random;
    this.#onInjected = onInjected;
    for (const r of regions) this.#counts.set(r, { error: 0, hang: 0, slow: 0 });
  }

  /** The fault intents in force now (a `FleetView` fault listener); unreadable causes are ignored. */
  readonly update = (records: readonly RemoteRecord[]): void => {
    const next = new Map<string, ActiveFault>();
    for (const r of records) {
      const f = decodeFault(r.event.cause);
      if (f === undefined || f.spec.percent <= 0) continue;
      next.set(r.event.endpointId, { endpointId: r.event.endpointId, spec: f.spec, reason: f.reason, until: r.until });
    }
    this.#active = next;
  };

  draw(endpoint: { readonly id: string; readonly region: string }): ActiveFault | undefined {
    if (this.#active.size === 0) return undefined;
    const f = this.#active.get(endpoint.id);
    if (f === undefined || f.until <= this.#clock.now()) return undefined;
    if (f.spec.percent < 100 && this.#random() * 100 >= f.spec.percent) return undefined;
    let c = this.#counts.get(endpoint.region);
    // A region a config reload added: its key once, then counted like the others.
    if (c === undefined) this.#counts.set(endpoint.region, (c = { error: 0, hang: 0, slow: 0 }));
    c[f.spec.kind]++;
    this.#onInjected?.(endpoint.region, f.spec.kind);
    return f;
  }

  /** Faults in force, for `/admin/state`. */
  active(): ActiveFault[] {
    const now = this.#clock.now();
    return [...this.#active.values()].filter((f) => f.until > now);
  }

  /** Injected faults so far, for the counter read at scrape time. */
  *counts(): IterableIterator<readonly [{ region: string; fault: FaultKind }, number]> {
    for (const [region, c] of this.#counts) for (const fault of FAULT_KINDS) yield [{ region, fault }, c[fault]] as const;
  }
}
