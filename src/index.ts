/**
 * regiongate's public API. The simulator of regional endpoints (demo, tests, benches) has its own
 * subpath, `regiongate/sim` (src/sim/index.ts), so the gateway's entry does not load it.
 */
export { createGateway, type CreateGatewayOptions, type RunningGateway } from './create-gateway.js';
export { loadConfigFile, resolveConfig, maskSecrets, type GatewayConfig, type GatewayConfigInput } from './config/index.js';
export { GatewayError, ConfigError, ListenError, ERROR_CODES, type ErrorCode } from './errors.js';
export { Registry, type Endpoint, type Region } from './registry/index.js';
export type { Picker, PickRequest } from './routing/picker.js';
export { CHANNEL, type AttemptStartMessage } from './telemetry/diagnostics.js';
export { HealthTracker } from './health/index.js';
export { HealthAwarePicker, RetryBudget } from './routing/index.js';
export type { ReloadHook, ReloadResult } from './reload/reloader.js';
