/**
 * Routing's public face (re-exported by `src/index.ts`): the picker that chooses each attempt's endpoint
 * and the retry budget. Modules inside the gateway import the files they need directly.
 */
export { HealthAwarePicker } from './health-picker.js';
export { RetryBudget } from './retry-budget.js';
