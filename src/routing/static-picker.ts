/**
 * The simplest picker: lowest priority first, then weighted round robin within the tier, skipping
 * endpoints already tried. It knows nothing of health; the routing brain replaces it.
 */
import { servesModel, type Endpoint } from '../registry/endpoint.js';
import type { PickRequest, Picker } from './picker.js';

export class StaticPicker implements Picker {
  readonly #tiers: readonly (readonly Endpoint[])[];
  #turn = 0;

  constructor(endpoints: readonly Endpoint[]) {
    const byPriority = new Map<number, Endpoint[]>();
    for (const e of endpoints) {
      const tier = byPriority.get(e.priority) ?? [];
      // Weighted round robin by repetition: weights are small integers in practice.
      for (let i = 0; i < Math.min(e.weight, 100); i++) tier.push(e);
      byPriority.set(e.priority, tier);
    }
    this.#tiers = [...byPriority.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
  }

  pick(req: PickRequest): Endpoint | undefined {
    // Only a request's first attempt advances the turn, so a retry doesn't skip a healthy endpoint.
    const turn = req.tried.length === 0 ? this.#turn++ : this.#turn - 1;
    for (const tier of this.#tiers) {
      for (let i = 0; i < tier.length; i++) {
        const e = tier[(turn + i) % tier.length];
        if (!req.tried.includes(e) && servesModel(e, req.model) && (!req.regions || req.regions.has(e.region))) return e;
      }
    }
    return undefined;
  }

  routable(): boolean {
    return this.#tiers.length > 0;
  }
}
