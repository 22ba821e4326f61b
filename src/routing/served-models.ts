/**
 * The models the gateway can serve right now: the union over routable endpoints (over all endpoints
 * but drained ones when none is routable, as panic routing would still try them, never a drained one).
 * Undefined when an endpoint serves any model (`"*"`): then only an upstream knows the list.
 */
import type { Endpoint } from '../registry/endpoint.js';
import type { HealthView } from './health-view.js';

export function servedModels(endpoints: readonly Endpoint[], health: Pick<HealthView, 'isRoutable' | 'drained'>): string[] | undefined {
  const routable = endpoints.filter((e) => health.isRoutable(e));
  const set = new Set<string>();
  for (const e of routable.length > 0 ? routable : endpoints.filter((x) => !health.drained(x))) {
    if (e.models === undefined) return undefined;
    for (const m of e.models) set.add(m);
  }
  return [...set].sort();
}
