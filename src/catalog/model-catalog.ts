/**
 * What the gateway knows about its models and regions, for the answers that need no endpoint, given as
 * OpenAI gives them so SDKs neither retry a typo nor report an outage:
 *
 * - a region name in `x-regiongate-regions` that does not exist: `400 RG_ERR_UNKNOWN_REGION`;
 * - a model no endpoint serves (configured lists, and what `"*"` endpoints reported): `404` with
 *   `code: "model_not_found"` (`RG_ERR_MODEL_NOT_FOUND`);
 * - a model served only outside the regions the request may use (`x-regiongate-regions` and
 *   `routing.rules`): `404 model_not_found` too (`RG_ERR_NOT_IN_REGIONS`), since residency is config,
 *   not an outage, and retrying cannot help;
 * - a request that could go somewhere but finds nothing routable now: `503 RG_ERR_NO_ENDPOINT`.
 *
 * Also the `GET /v1/models` list and `GET /v1/models/{id}` answers. Reads config and reports; no I/O.
 */
import { GatewayError } from '../errors.js';
import { knownModels, servesModel, type Endpoint } from '../registry/endpoint.js';
import type { HealthView } from '../routing/health-view.js';
import type { PickRequest } from '../routing/picker.js';
import { compileRouteRules, ruleMatches, type CompiledRouteRule, type RouteRule } from '../routing/route-rules.js';

/** Longest piece of client input echoed in an error message. */
const ECHO_MAX = 100;

export interface ModelCatalogInit {
  readonly endpoints: readonly Endpoint[];
  readonly rules: readonly RouteRule[];
  readonly health: Pick<HealthView, 'isRoutable' | 'drained'>;
}

/** One entry of an OpenAI model list. */
export interface ModelObject {
  readonly id: string;
  readonly object: 'model';
  readonly created: number;
  readonly owned_by: string;
}

/** The model object the gateway answers for `id`. */
export function modelObject(id: string): ModelObject {
  return { id, object: 'model', created: 0, owned_by: 'regiongate' };
}

export class ModelCatalog {
  #endpoints: readonly Endpoint[];
  #regionNames: ReadonlySet<string>;
  #rules: readonly CompiledRouteRule[];
  readonly #health: Pick<HealthView, 'isRoutable' | 'drained'>;

  constructor(init: ModelCatalogInit) {
    this.#endpoints = init.endpoints;
    this.#regionNames = new Set(init.endpoints.map((e) => e.region));
    this.#rules = compileRouteRules(init.rules);
    this.#health = init.health;
  }

  /** A config reload changed the endpoints or the route rules. */
  update(endpoints: readonly Endpoint[], rules: readonly RouteRule[]): void {
    this.#endpoints = endpoints;
    this.#regionNames = new Set(endpoints.map((e) => e.region));
    this.#rules = compileRouteRules(rules);
  }

  /** `RG_ERR_UNKNOWN_REGION` when `regions` (from `x-regiongate-regions`) names a region that does not exist. */
  checkRegions(regions: ReadonlySet<string> | undefined): GatewayError | undefined {
    if (regions === undefined) return undefined;
    for (const name of regions) {
      if (this.#regionNames.has(name)) continue;
      const known = [...this.#regionNames].join(', ');
      return new GatewayError('RG_ERR_UNKNOWN_REGION', {
        message: `x-regiongate-regions names unknown region ${JSON.stringify(clip(name))}; the regions are: ${known}.`,
        openai: { type: 'invalid_request_error', code: 'RG_ERR_UNKNOWN_REGION', param: null },
      });
    }
    return undefined;
  }

  /**
   * Why no endpoint can take `req`, for a first pick that found none: an unknown model or one outside
   * the allowed regions is the client's (404), anything else is capacity (503, worth a retry).
   */
  whyNoEndpoint(req: Pick<PickRequest, 'model' | 'regions'>, otherwise: () => GatewayError = () => new GatewayError('RG_ERR_NO_ENDPOINT')): GatewayError {
    const model = req.model;
    if (model !== undefined && !this.#endpoints.some((e) => servesModel(e, model))) {
      return new GatewayError('RG_ERR_MODEL_NOT_FOUND', {
        message: `The model ${JSON.stringify(clip(model))} does not exist or is not served by this gateway.`,
        openai: { type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
      });
    }
    if (!this.#endpoints.some((e) => servesModel(e, model) && this.#allowed(e.region, model, req.regions))) {
      const where = 'the regions this request may use (x-regiongate-regions and routing.rules)';
      return model === undefined
        ? new GatewayError('RG_ERR_NOT_IN_REGIONS', {
            message: `No endpoint is in ${where}.`,
            openai: { type: 'invalid_request_error', code: 'RG_ERR_NOT_IN_REGIONS', param: null },
          })
        : new GatewayError('RG_ERR_NOT_IN_REGIONS', {
            message: `The model ${JSON.stringify(clip(model))} is not served in ${where}.`,
            openai: { type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
          });
    }
    return otherwise();
  }

  /**
   * `GET /v1/models`: the models the request may use, served by the endpoints routable now within its
   * regions (all of them there when none is), each kept only where `routing.rules` let it be served.
   * Undefined when such an endpoint serves `"*"` and has reported no list: only it knows.
   */
  list(regions: ReadonlySet<string> | undefined): string[] | undefined {
    const inScope = regions === undefined ? this.#endpoints : this.#endpoints.filter((e) => regions.has(e.region));
    const routable = inScope.filter((e) => this.#health.isRoutable(e));
    const ids = new Set<string>();
    // In panic, what panic would try: never a drained endpoint's models (operator intent wins).
    for (const e of routable.length > 0 ? routable : inScope.filter((x) => !this.#health.drained(x))) {
      const models = knownModels(e);
      if (models === undefined) return undefined;
      for (const id of models) if (this.#allowed(e.region, id, undefined)) ids.add(id);
    }
    return [...ids].sort();
  }

  /**
   * `GET /v1/models/{id}`: true when an endpoint the request may use is known to serve `id`, so the
   * gateway answers itself. Otherwise the request is routed like one for that model: to an endpoint
   * that may serve it, or to `whyNoEndpoint`.
   */
  knows(id: string, regions: ReadonlySet<string> | undefined): boolean {
    return this.#endpoints.some((e) => knownModels(e)?.has(id) === true && this.#allowed(e.region, id, regions));
  }

  /** Whether an endpoint that serves `model` knows it by another name (`models` as a map). */
  renamed(model: string): boolean {
    return this.#endpoints.some((e) => e.upstreamIds?.has(model) === true);
  }

  /** Whether a request for `model` may be served in `region` (its regions header and every matching rule). */
  #allowed(region: string, model: string | undefined, regions: ReadonlySet<string> | undefined): boolean {
    if (regions !== undefined && !regions.has(region)) return false;
    for (const rule of this.#rules) if (ruleMatches(rule, model) && !rule.regions.has(region)) return false;
    return true;
  }
}

/**
 * The model id of `GET|DELETE /v1/models/{id}` (percent-decoded; ids may hold `/`), undefined for other
 * requests, and null for a malformed id (bad escape, empty, or a dot segment that could walk out of the
 * path once normalised).
 */
export function modelInPath(method: string | undefined, path: string): string | undefined | null {
  if (!path.startsWith('/v1/models/') || (method !== 'GET' && method !== 'DELETE')) return undefined;
  const raw = path.slice('/v1/models/'.length);
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (id === '' || id.split('/').some((s) => s === '.' || s === '..')) return null;
  return id;
}

function clip(s: string): string {
  return s.length > ECHO_MAX ? `${s.slice(0, ECHO_MAX)}…` : s;
}
