/**
 * The routing brain: picks the endpoint for each attempt from local health, in four steps.
 *
 * 1. Candidates: endpoints that serve the model, in the regions the request allows (`req.regions` and
 *    every matching route rule), not already tried. A first pass takes only regions not yet tried (a
 *    failed attempt often means a regional outage, so a retry goes elsewhere, even to a lower priority);
 *    when that pass finds nothing routable, a second pass allows the tried regions' other endpoints.
 * 2. Priority: Envoy's priority load with overprovisioning (see `priority-load.ts`), drawn at random.
 *    Healthy weight = weight × `weightFactor` of routable endpoints, so a tier of endpoints in probation
 *    counts for the capacity it takes, not for its full configured weight.
 * 3. Within the tier, power of two choices: two distinct endpoints drawn at random by weight ×
 *    `weightFactor`; the one with the clearly lower `score` wins, and when the two scores are within
 *    `scoreTolerance` of each other the first draw wins. A sudden fast endpoint wins only the pairs it
 *    is drawn into, so it ramps up instead of taking everything at once (no herding).
 * 4. Panic: when no untried candidate is routable at all, health is ignored and the pick is a weighted
 *    draw over every untried candidate of every tier (Envoy's total panic spreads by total weight), a
 *    retry preferring untried regions. Failing open like this beats a certain 503, and spreading it
 *    keeps a fleet of gateways from sending everything to the one endpoint they all think is back
 *    soonest. With `panicThreshold` set, a degraded tier is in Envoy's threshold panic and its picks
 *    ignore health too. `pickDetailed` says whether a pick was a panic pick.
 *
 * Operator intent wins over panic: a drained endpoint (a drain or a fire drill, `HealthView.drained`)
 * is never picked, in panic or not. When that leaves nothing, `explainMiss` says so, so the client is
 * told its endpoints are drained instead of a generic "no endpoint".
 *
 * O(endpoints) per pick, no allocation and no closures on the `pick` path: scratch arrays are sized at
 * construction and reused (picks are synchronous, so sharing them is safe).
 */
import { servesModel, type Endpoint } from '../registry/endpoint.js';
import type { Registry } from '../registry/registry.js';
import type { Random } from '../util/random.js';
import type { HealthView } from './health-view.js';
import type { PickMiss, PickRequest, Picker } from './picker.js';
import { PriorityLoad } from './priority-load.js';
import { compileRouteRules, ruleMatches, type CompiledRouteRule, type RouteRule } from './route-rules.js';

/** `routing:` settings from the config schema, which owns their defaults. */
export interface HealthAwarePickerOptions {
  /** Envoy's overprovisioning factor. */
  readonly overprovisioningFactor: number;
  /** 0..1, like Envoy's 50% (0.5); 0 = threshold panic off. */
  readonly panicThreshold: number;
  /** Data-residency rules (none when absent). */
  readonly routeRules?: readonly RouteRule[];
  /**
   * Scores within this ratio count as equal and the weighted draw decides. Without it, two endpoints a
   * millisecond apart would split 100/0, and a recovered endpoint would get all or nothing.
   */
  readonly scoreTolerance: number;
}

export type HealthAwarePickerInit = (
  | { readonly registry: Pick<Registry, 'endpoints'> }
  | { readonly endpoints: readonly Endpoint[] }
) & {
  readonly health: HealthView;
  readonly random: Random;
  readonly options: HealthAwarePickerOptions;
};

/** A pick with how it was made. */
export interface PickResult {
  endpoint: Endpoint;
  /** True when health was ignored: nothing routable (total panic) or the tier was in threshold panic. */
  panic: boolean;
}

/** Marks a scratch slot whose endpoint is not a candidate in this pass. */
const NOT_CANDIDATE = -1;

/** The health-aware `Picker`: priority load, power of two choices, retry region preference, panic. */
export class HealthAwarePicker implements Picker {
  readonly #endpoints: readonly Endpoint[]; // sorted by priority, stable
  readonly #tierStart: Int32Array; // endpoints of tier t are [tierStart[t], tierStart[t + 1])
  readonly #health: HealthView;
  readonly #random: Random;
  readonly #rules: readonly CompiledRouteRule[];
  readonly #load: PriorityLoad;
  readonly #tolerance: number;
  // Scratch, reused by every pick.
  readonly #ruleHits: CompiledRouteRule[] = [];
  #ruleHitCount = 0;
  readonly #healthyWeight: Float64Array; // per endpoint; NOT_CANDIDATE when filtered out
  readonly #candidates: Int32Array;
  readonly #weights: Float64Array;
  readonly #result: PickResult;

  constructor(init: HealthAwarePickerInit) {
    const source = 'registry' in init ? init.registry.endpoints : init.endpoints;
    this.#tolerance = 1 + init.options.scoreTolerance;
    this.#endpoints = [...source].sort((a, b) => a.priority - b.priority);
    const starts = [0];
    for (let i = 1; i < this.#endpoints.length; i++) {
      if (this.#endpoints[i].priority !== this.#endpoints[i - 1].priority) starts.push(i);
    }
    starts.push(this.#endpoints.length);
    this.#tierStart = Int32Array.from(starts);
    this.#health = init.health;
    this.#random = init.random;
    const opts = init.options;
    this.#rules = compileRouteRules(opts.routeRules ?? []);
    this.#load = new PriorityLoad(starts.length - 1, { overprovisioningFactor: opts.overprovisioningFactor, panicThreshold: opts.panicThreshold });
    const n = this.#endpoints.length;
    this.#healthyWeight = new Float64Array(n);
    this.#candidates = new Int32Array(n);
    this.#weights = new Float64Array(n);
    this.#result = { endpoint: this.#endpoints[0], panic: false };
  }

  pick(req: PickRequest): Endpoint | undefined {
    return this.pickDetailed(req, this.#result)?.endpoint;
  }

  /**
   * Like `pick`, and says whether it was a panic pick. Pass `out` to have it filled instead of a new
   * object allocated; the return value is then `out` (or undefined when no endpoint can take the request).
   */
  pickDetailed(req: PickRequest, out?: PickResult): PickResult | undefined {
    if (this.#endpoints.length === 0) return undefined;
    const res = out ?? { endpoint: this.#endpoints[0], panic: false };
    this.#matchRules(req.model);
    // Saturated endpoints (their server says its queue or KV cache is full) are left out of the first
    // passes, like unhealthy ones, so priority load spills to the next region; they remain a fallback.
    return this.#pick(req, res) ? res : undefined;
  }

  #pick(req: PickRequest, res: PickResult): boolean {
    if (this.#pickByHealth(req, true, res, true)) return true;
    if (req.tried.length > 0 && this.#pickByHealth(req, false, res, true)) return true;
    if (this.#health.saturated !== undefined) {
      if (this.#pickByHealth(req, true, res, false)) return true;
      if (req.tried.length > 0 && this.#pickByHealth(req, false, res, false)) return true;
    }
    if (this.#pickInPanic(req, true, res)) return true;
    return req.tried.length > 0 && this.#pickInPanic(req, false, res);
  }

  /**
   * Why `pick(req)` found nothing: `drained` (with the regions) when endpoints could serve the request
   * but every one of them is drained by an operator; else `no_candidate`. Tried endpoints count as
   * candidates here: this explains the request, not the last retry.
   */
  explainMiss(req: PickRequest): PickMiss {
    this.#matchRules(req.model);
    const all: PickRequest = { model: req.model, regions: req.regions, tried: [] };
    const regions: string[] = [];
    for (const e of this.#endpoints) {
      if (!this.#isCandidate(e, all, false)) continue;
      if (!this.#health.drained(e)) return { reason: 'no_candidate' };
      if (!regions.includes(e.region)) regions.push(e.region);
    }
    return regions.length > 0 ? { reason: 'drained', regions } : { reason: 'no_candidate' };
  }

  /**
   * True when at least one endpoint is routable: drives `/readyz`. Panic picks do not count, so a
   * gateway whose every endpoint is down reports not ready and an outer load balancer can move clients
   * to a gateway that has capacity (this one still serves, in panic, whatever reaches it).
   */
  routable(): boolean {
    for (let i = 0; i < this.#endpoints.length; i++) if (this.#health.isRoutable(this.#endpoints[i])) return true;
    return false;
  }

  /** One pass over the candidates by priority load and power of two choices; false if none is routable. */
  #pickByHealth(req: PickRequest, freshRegionsOnly: boolean, res: PickResult, avoidSaturated: boolean): boolean {
    const saturated = avoidSaturated ? this.#health.saturated : undefined;
    const endpoints = this.#endpoints;
    const load = this.#load;
    load.reset();
    for (let t = 0; t + 1 < this.#tierStart.length; t++) {
      for (let i = this.#tierStart[t]; i < this.#tierStart[t + 1]; i++) {
        const e = endpoints[i];
        if (!this.#isCandidate(e, req, freshRegionsOnly)) {
          this.#healthyWeight[i] = NOT_CANDIDATE;
          continue;
        }
        const routable = this.#health.isRoutable(e) && (saturated === undefined || !saturated.call(this.#health, e, req.model));
        const healthy = routable ? e.weight * clampFactor(this.#health.weightFactor(e)) : 0;
        this.#healthyWeight[i] = healthy;
        load.add(t, e.weight, healthy);
      }
    }
    if (!load.compute()) return false;

    const tier = load.draw(this.#random());
    const panic = load.inPanic(tier);
    let n = 0;
    let total = 0;
    for (let i = this.#tierStart[tier]; i < this.#tierStart[tier + 1]; i++) {
      const healthy = this.#healthyWeight[i];
      if (healthy === NOT_CANDIDATE) continue;
      // Threshold panic ignores health, never an operator's drain.
      const w = !panic ? healthy : healthy > 0 || !this.#health.drained(endpoints[i]) ? endpoints[i].weight : 0;
      if (w <= 0) continue;
      this.#candidates[n] = i;
      this.#weights[n] = w;
      total += w;
      n++;
    }
    if (n === 0) return false; // a tier in panic whose unhealthy endpoints are all drained
    res.endpoint = this.#powerOfTwoChoices(n, total, req.model);
    res.panic = panic;
    return true;
  }

  /** Two distinct weighted draws among the first `n` scratch candidates; the clearly lower score wins, else the first. */
  #powerOfTwoChoices(n: number, total: number, model: string | undefined): Endpoint {
    const first = this.#weightedDraw(n, total, -1);
    if (n === 1) return this.#endpoints[this.#candidates[first]];
    const second = this.#weightedDraw(n, total - this.#weights[first], first);
    const a = this.#endpoints[this.#candidates[first]];
    const b = this.#endpoints[this.#candidates[second]];
    return this.#health.score(b, model) * this.#tolerance < this.#health.score(a, model) ? b : a;
  }

  /** Index (into the scratch candidates) of a draw by weight, never `skip`. */
  #weightedDraw(n: number, total: number, skip: number): number {
    let r = this.#random() * total;
    let last = -1;
    for (let k = 0; k < n; k++) {
      if (k === skip) continue;
      last = k;
      r -= this.#weights[k];
      if (r < 0) return k;
    }
    return last; // rounding: the draw fell a hair past the end
  }

  /**
   * Total panic: nothing routable, so health is ignored and the pick is a weighted draw over the
   * candidates of every tier, drained ones excepted; false when there are none.
   */
  #pickInPanic(req: PickRequest, freshRegionsOnly: boolean, res: PickResult): boolean {
    let n = 0;
    let total = 0;
    for (let i = 0; i < this.#endpoints.length; i++) {
      const e = this.#endpoints[i];
      if (e.weight <= 0 || !this.#isCandidate(e, req, freshRegionsOnly) || this.#health.drained(e)) continue;
      this.#candidates[n] = i;
      this.#weights[n] = e.weight;
      total += e.weight;
      n++;
    }
    if (n === 0) return false;
    res.endpoint = this.#endpoints[this.#candidates[this.#weightedDraw(n, total, -1)]];
    res.panic = true;
    return true;
  }

  #isCandidate(e: Endpoint, req: PickRequest, freshRegionsOnly: boolean): boolean {
    if (!servesModel(e, req.model)) return false;
    if (req.regions !== undefined && !req.regions.has(e.region)) return false;
    for (let k = 0; k < this.#ruleHitCount; k++) if (!this.#ruleHits[k].regions.has(e.region)) return false;
    if (req.tried.includes(e)) return false;
    return !freshRegionsOnly || !regionWasTried(e.region, req.tried);
  }

  /** Collect the route rules that apply to `model` into the scratch list. */
  #matchRules(model: string | undefined): void {
    this.#ruleHitCount = 0;
    for (let k = 0; k < this.#rules.length; k++) {
      const rule = this.#rules[k];
      if (ruleMatches(rule, model)) this.#ruleHits[this.#ruleHitCount++] = rule;
    }
  }
}

/** Weight factors outside 0..1 (or NaN) are clamped: a faulty HealthView cannot inflate a weight. */
function clampFactor(f: number): number {
  return f > 1 ? 1 : f > 0 ? f : 0;
}

function regionWasTried(region: string, tried: readonly Endpoint[]): boolean {
  for (let k = 0; k < tried.length; k++) if (tried[k].region === region) return true;
  return false;
}
