/**
 * Which models an operator action would leave with no routable endpoint: the admin API refuses a drain
 * or drill that strands a model unless forced. An endpoint without a model list serves any model, so
 * taking out the last routable one of those strands `"*"` (every model not listed elsewhere).
 */
import type { Endpoint } from '../registry/endpoint.js';
import type { HealthView } from './health-view.js';

/** The models served by `removed` endpoints that no other routable endpoint serves, sorted. */
export function strandedModels(
  all: readonly Endpoint[],
  removed: ReadonlySet<string>,
  health: Pick<HealthView, 'isRoutable'>,
): string[] {
  const left = all.filter((e) => !removed.has(e.id) && health.isRoutable(e));
  if (left.some((e) => e.models === undefined)) return [];
  const served = new Set(left.flatMap((e) => [...(e.models ?? [])]));
  const out = new Set<string>();
  for (const e of all) {
    if (!removed.has(e.id)) continue;
    if (e.models === undefined) out.add('*');
    else for (const m of e.models) if (!served.has(m)) out.add(m);
  }
  return [...out].sort();
}
