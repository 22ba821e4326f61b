/**
 * Options for tests that build a part of the gateway directly (a `HealthTracker`, a picker, a retry
 * budget): resolved by the config schema's own sections, so tests get the same defaults and ranges as
 * a gateway, and no default is written twice.
 */
import type { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import type { HealthOptions } from '../../src/health/health-options.js';
import type { HealthAwarePickerOptions } from '../../src/routing/health-picker.js';
import type { RetryBudgetOptions } from '../../src/routing/retry-budget.js';

const sections = configSchema.shape;

/** What `health:` accepts (any subset). */
export type HealthConfigInput = z.input<typeof sections.health>;

/** `input` (any subset of `health:`) with the schema's defaults; throws on a value the schema refuses. */
export function healthOptions(input: HealthConfigInput = {}): HealthOptions {
  return sections.health.parse(input);
}

/** The picker's settings from `routing:` (`input`: any subset of its scoring keys), as `createGateway` passes them. */
export function pickerOptions(input: Partial<HealthAwarePickerOptions> = {}): HealthAwarePickerOptions {
  const r = sections.routing.parse({});
  return { overprovisioningFactor: r.overprovisioningFactor, panicThreshold: r.panicThreshold, scoreTolerance: r.scoreTolerance, ...input };
}

/** `retry.budget` with the schema's defaults, overridden by `input`. */
export function retryBudgetOptions(input: Partial<RetryBudgetOptions> = {}): RetryBudgetOptions {
  return { ...sections.retry.parse({}).budget, ...input };
}
