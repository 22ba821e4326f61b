/**
 * The cap on what outlier detection may remove at once, as Envoy's `max_ejection_percent`: at most
 * `maxEjectionPercent` of all endpoints are held ejected for outlier causes, and at least one may always
 * be. A failure that hits every endpoint alike (a poison request, the gateway's own network) then
 * cannot empty the pool. Ejections by probes, breakers, operators and peers neither use nor free the
 * quota. A withheld ejection is counted; the next failure asks again.
 */
import type { EndpointHealth } from './endpoint-state.js';
import type { TransitionCause } from './health-transition.js';

/** Ejection causes of outlier detection, which the cap counts. */
const OUTLIER_CAUSES: ReadonlySet<TransitionCause> = new Set<TransitionCause>(['consecutive_5xx', 'consecutive_local_origin', 'failure_rate', 'probation_failed']);

export class EjectionCap {
  #percent: number;
  #max: number;
  #withheld = 0;

  constructor(maxEjectionPercent: number, endpointCount: number) {
    this.#percent = maxEjectionPercent;
    this.#max = this.#capFor(endpointCount);
  }

  /** `maxEjectionPercent` changed (a config reload): applies to the next ejection. */
  setPercent(maxEjectionPercent: number, endpointCount: number): void {
    this.#percent = maxEjectionPercent;
    this.resize(endpointCount);
  }

  /** The number of endpoints changed (a config reload). */
  resize(endpointCount: number): void {
    this.#max = this.#capFor(endpointCount);
  }

  #capFor(endpointCount: number): number {
    return Math.max(1, Math.floor((this.#percent / 100) * endpointCount));
  }

  /** Ejections withheld since start. */
  get withheld(): number {
    return this.#withheld;
  }

  /** Whether `h` may be ejected for an outlier cause now, given every record; counts a refusal. O(endpoints), on ejections only. */
  admits(h: EndpointHealth, records: Iterable<EndpointHealth>): boolean {
    let ejected = 0;
    for (const r of records) if (r !== h && r.ejectedUntil !== 0 && OUTLIER_CAUSES.has(r.ejectCause)) ejected++;
    if (ejected < this.#max) return true;
    this.#withheld++;
    return false;
  }
}
