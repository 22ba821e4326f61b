/**
 * Routing: which endpoint takes each attempt (`HealthAwarePicker`), whether a failed attempt may be
 * retried (`isReplayable`, `mayRetry`, `RetryBudget`) and when to hedge (`hedgeDelay`).
 */
export type { HealthView } from './health-view.js';
export type { PickMiss, PickRequest, Picker } from './picker.js';
export { StaticPicker } from './static-picker.js';
export { noEndpointError } from './no-endpoint-error.js';
export {
  HealthAwarePicker,
  type HealthAwarePickerInit,
  type HealthAwarePickerOptions,
  type PickResult,
} from './health-picker.js';
export { PriorityLoad, type PriorityLoadOptions } from './priority-load.js';
export { compileRouteRules, globToRegExp, ruleMatches, type CompiledRouteRule, type RouteRule } from './route-rules.js';
export { RetryBudget, type RetryBudgetInit, type RetryBudgetOptions } from './retry-budget.js';
export {
  DEFAULT_REPLAYABLE_PATHS,
  DEFAULT_RETRY_POLICY,
  DEFAULT_RETRY_STATUSES,
  isIdempotent,
  isReplayable,
  mayRetry,
  mayRetryStatus,
  type ReplayRequest,
  type RetryClass,
  type RetryPolicy,
} from './retry-policy.js';
export { HEDGING_OFF, hedgeDelay, shouldHedge, type HedgeOptions, type HedgeState } from './hedge-policy.js';
