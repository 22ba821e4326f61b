/**
 * Route rules: data-residency restrictions from config. A rule names a model (exact, or a glob where
 * `*` matches any run of characters) and the regions that model may be served from; a rule without a
 * model applies to every request. Every rule that matches a request applies (their regions intersect),
 * so adding a rule can only narrow where a request goes, never widen it. Requests that name no model
 * match only the rules without one.
 */

export interface RouteRule {
  /** Model name or glob (`"gpt-4o*"`, `"*-eu"`); omitted = every request. */
  readonly model?: string;
  /** Regions the matching requests may be routed to. */
  readonly regions: readonly string[];
}

/** A rule prepared once at construction: the glob compiled, the regions in a set. */
export interface CompiledRouteRule {
  /** `undefined` matches every request. */
  readonly model: RegExp | undefined;
  readonly regions: ReadonlySet<string>;
}

/** Compile a model glob (`*` wildcard, everything else literal) to an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

/** Prepare config rules for the picker's hot path. */
export function compileRouteRules(rules: readonly RouteRule[]): readonly CompiledRouteRule[] {
  return rules.map((r) =>
    Object.freeze({
      model: r.model === undefined ? undefined : globToRegExp(r.model),
      regions: new Set(r.regions),
    }),
  );
}

/** Whether `rule` applies to a request for `model`. */
export function ruleMatches(rule: CompiledRouteRule, model: string | undefined): boolean {
  if (rule.model === undefined) return true;
  return model !== undefined && rule.model.test(model);
}
