/**
 * Priority load, as Envoy computes it ("Priority levels" and "Panic threshold" in Envoy's load
 * balancing docs), over weights instead of host counts.
 *
 * Each tier's health = (healthy weight / total weight) × overprovisioning factor, capped at 1. Tier 0
 * takes its health's share of traffic, the remainder spills to tier 1, and so on. When the health of all
 * tiers together (the normalized total health) is below 1, the shares are scaled up so they still sum
 * to 1. With a panic threshold set and the normalized total health below 1, a tier whose raw healthy
 * share is below the threshold is "in panic": picks in it ignore health. When every tier with endpoints
 * is in panic, traffic is split by total weight instead of by health.
 *
 * One instance is reused for every pick: `reset`, `add` per endpoint, `compute`, then `draw`. No
 * allocation after construction.
 */

export interface PriorityLoadOptions {
  /** Envoy's default is 1.4: a tier is "fully healthy" from 1/1.4 ≈ 71.4% healthy weight up. */
  readonly overprovisioningFactor: number;
  /** 0..1; 0 turns threshold panic off. */
  readonly panicThreshold: number;
}

export class PriorityLoad {
  readonly #tiers: number;
  readonly #overprovisioning: number;
  readonly #panicThreshold: number;
  readonly #total: Float64Array;
  readonly #healthy: Float64Array;
  readonly #load: Float64Array;
  readonly #panic: Uint8Array;

  constructor(tiers: number, options: PriorityLoadOptions) {
    if (!(options.overprovisioningFactor >= 1)) throw new RangeError('overprovisioningFactor must be at least 1');
    if (!(options.panicThreshold >= 0 && options.panicThreshold <= 1)) throw new RangeError('panicThreshold must be within 0..1');
    this.#tiers = tiers;
    this.#overprovisioning = options.overprovisioningFactor;
    this.#panicThreshold = options.panicThreshold;
    this.#total = new Float64Array(tiers);
    this.#healthy = new Float64Array(tiers);
    this.#load = new Float64Array(tiers);
    this.#panic = new Uint8Array(tiers);
  }

  /** Forget the previous pick's figures. */
  reset(): void {
    this.#total.fill(0);
    this.#healthy.fill(0);
    this.#load.fill(0);
    this.#panic.fill(0);
  }

  /** Count one eligible endpoint of `tier`: its configured weight and its healthy part of it. */
  add(tier: number, weight: number, healthyWeight: number): void {
    this.#total[tier] += weight;
    this.#healthy[tier] += healthyWeight;
  }

  /**
   * Compute each tier's share of traffic. Returns false when no tier has any healthy weight: there is
   * nothing to route to by health (the caller falls back to another candidate set, or to recovery panic).
   */
  compute(): boolean {
    const n = this.#tiers;
    let sumHealth = 0;
    let sumTotal = 0;
    let sumHealthy = 0;
    for (let i = 0; i < n; i++) {
      const total = this.#total[i];
      const health = total > 0 ? Math.min(1, (this.#overprovisioning * this.#healthy[i]) / total) : 0;
      this.#load[i] = health; // health for now; turned into a load below
      sumHealth += health;
      sumTotal += total;
      sumHealthy += this.#healthy[i];
    }
    if (!(sumHealthy > 0)) return false;
    const normalizedTotal = Math.min(1, sumHealth);

    if (this.#panicThreshold > 0 && normalizedTotal < 1) {
      let allInPanic = true;
      for (let i = 0; i < n; i++) {
        const total = this.#total[i];
        if (total <= 0) continue;
        const inPanic = this.#healthy[i] / total < this.#panicThreshold;
        this.#panic[i] = inPanic ? 1 : 0;
        if (!inPanic) allInPanic = false;
      }
      if (allInPanic) {
        for (let i = 0; i < n; i++) this.#load[i] = this.#total[i] / sumTotal;
        return true;
      }
    }

    let remaining = 1;
    for (let i = 0; i < n; i++) {
      const load = Math.min(remaining, this.#load[i] / normalizedTotal);
      this.#load[i] = load;
      remaining -= load;
    }
    return true;
  }

  /** The tier a uniform draw `r` in [0, 1) lands in (after a successful `compute`). */
  draw(r: number): number {
    let last = 0;
    for (let i = 0; i < this.#tiers; i++) {
      const load = this.#load[i];
      if (load <= 0) continue;
      if (r < load) return i;
      r -= load;
      last = i;
    }
    return last; // rounding left a sliver past the last tier with load
  }

  /** The share of traffic `tier` gets (0..1), for tests and the dashboard. */
  load(tier: number): number {
    return this.#load[tier];
  }

  /** Whether picks within `tier` ignore health (threshold panic). */
  inPanic(tier: number): boolean {
    return this.#panic[tier] === 1;
  }
}
