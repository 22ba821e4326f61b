/**
 * One table of every metric and log-event name (like undici's `diagnostics.js`), so dashboards, alerts
 * and tests refer to the same strings.
 */
export const METRIC = {
  requests: 'regiongate_requests_total',
  attempts: 'regiongate_attempts_total',
  gatewayErrors: 'regiongate_gateway_errors_total',
  transitions: 'regiongate_health_transitions_total',
  outlierEjectionsWithheld: 'regiongate_outlier_ejections_withheld_total',
  inflight: 'regiongate_inflight_requests',
  endpointState: 'regiongate_endpoint_state',
  endpointLatency: 'regiongate_endpoint_ttfb_ewma_ms',
  storeConnected: 'regiongate_state_store_connected',
  storeEvents: 'regiongate_state_store_events_total',
  endpointLoadWaiting: 'regiongate_endpoint_load_waiting',
  endpointLoadRunning: 'regiongate_endpoint_load_running',
  endpointLoadKv: 'regiongate_endpoint_load_kv_usage',
  endpointLoadAge: 'regiongate_endpoint_load_age_seconds',
  endpointLoadSaturated: 'regiongate_endpoint_load_saturated',
  endpointScore: 'regiongate_endpoint_score',
} as const;

export const SPAN = {
  request: 'regiongate.request',
  attempt: 'regiongate.attempt',
} as const;

export const LOG_EVENT = {
  listening: 'gateway.listening',
  draining: 'gateway.draining',
  drainDeadline: 'gateway.drain_deadline',
  transition: 'health.transition',
  adminAction: 'admin.action',
  /** An attempt failed in a way the classifier does not recognise (not blamed on the endpoint). */
  unclassifiedFailure: 'proxy.unclassified_failure',
  adminError: 'admin.error',
  adminRefused: 'admin.refused',
  fleetUnsigned: 'fleet.unsigned',
  modelListFailed: 'models.list_failed',
  modelListLearned: 'models.list_learned',
} as const;
