/**
 * The region simulator: simulated OpenAI-compatible regional endpoints with latency, time to first token,
 * token pace and run-time fault modes, a control server over them, and the demo fleet.
 */
export { RegionSimulator, type RegionSimulatorOptions, type SimRequestRecord, type SimStats } from './region-simulator.js';
export {
  DEFAULT_ERROR_STATUS,
  DEFAULT_RETRY_AFTER_SEC,
  DEFAULT_SLOW_DELAY_MS,
  FAULT_MODES,
  NO_FAULT,
  parseFault,
  type Fault,
  type FaultMode,
  type FaultParseResult,
} from './fault.js';
export { SimControl, describeRegion, type RegionDescription, type SimControlOptions } from './sim-control.js';
export { DEMO_REGIONS, startSimFleet, type SimFleet, type SimFleetOptions } from './sim-fleet.js';
export { SSE_ECHO_PATH, type EchoBody } from './sim-routes.js';
export { EMBEDDING_DIMS, answerText, type OpenAiErrorBody } from './openai-payloads.js';
export { webSocketAccept } from './upgrade-echo.js';
export type { SimProfile } from './sim-exchange.js';
