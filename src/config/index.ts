export { loadConfigFile, parseConfigText, readConfigText, resolveConfig, formatPath } from './load-config.js';
export { maskSecrets } from './mask-secrets.js';
export { substituteEnv, type Env } from './substitute-env.js';
export { configSchema, type GatewayConfig, type GatewayConfigInput, type RegionConfig, type EndpointConfig } from './schema.js';
export { configWarnings, isPlaceholderSecret } from './credential-rules.js';
