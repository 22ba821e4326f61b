/**
 * Health options for tests that build a `HealthTracker` or its parts directly: resolved by the config
 * schema's `health:` section, so tests get the same defaults and ranges as a gateway.
 */
import { healthSchema, type HealthConfigInput } from '../../src/config/schema.js';
import type { HealthOptions } from '../../src/health/health-options.js';

export type { HealthConfigInput };

/** `input` (any subset of `health:`) with the schema's defaults; throws on a value the schema refuses. */
export function healthOptions(input: HealthConfigInput = {}): HealthOptions {
  return healthSchema.parse(input);
}
