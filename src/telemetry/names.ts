/**
 * One table of every metric and log-event name (like undici's `diagnostics.js`), so dashboards, alerts
 * and tests refer to the same strings.
 */
export const METRIC = {
  requests: 'regiongate_requests_total',
  /** Client requests by status class and model (configured model ids only, else "other"). */
  requestsByModel: 'regiongate_model_requests_total',
  /** Seconds from the request's arrival to the end of its answer, by region of the answering endpoint. */
  requestDuration: 'regiongate_request_duration_seconds',
  /** Seconds from the request's arrival to the response head sent to the client, by region. */
  timeToFirstByte: 'regiongate_time_to_first_byte_seconds',
  /** Retries and hedges, by the reason the earlier attempt was not used. */
  retries: 'regiongate_retries_total',
  attempts: 'regiongate_attempts_total',
  /** Faults a drill injected into attempts, by region and kind (`error`, `hang`, `slow`). */
  faultsInjected: 'regiongate_faults_injected_total',
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
  endpointLoadPredictedWaiting: 'regiongate_endpoint_load_predicted_waiting',
  endpointLoadPredictedRunning: 'regiongate_endpoint_load_predicted_running',
  endpointScore: 'regiongate_endpoint_score',
  /** Load reads shared through the store (scrape once per fleet), by outcome. */
  loadShared: 'regiongate_load_shared_reads_total',
  /** Load-metrics scrapes this gateway made, and turns it skipped because another gateway read and shared. */
  loadScrapes: 'regiongate_load_scrapes_total',
} as const;

export const SPAN = {
  request: 'regiongate.request',
  attempt: 'regiongate.attempt',
} as const;

export const LOG_EVENT = {
  listening: 'gateway.listening',
  /** One line per proxied request (`log.access`). */
  access: 'http.access',
  /** The CLI process: listening (with the bound address), signals, workers, shutdown. */
  processListening: 'process.listening',
  processSignal: 'process.shutdown',
  processWarning: 'process.warning',
  startFailed: 'process.start_failed',
  workerExited: 'process.worker_exited',
  workersListening: 'process.workers',
  /** Redis: one line per transition of a client's connection, and per degraded period of the store. */
  redisDisconnected: 'state.redis_disconnected',
  redisReconnected: 'state.redis_reconnected',
  storeDegraded: 'state.degraded',
  storeRecovered: 'state.recovered',
  draining: 'gateway.draining',
  drainDeadline: 'gateway.drain_deadline',
  transition: 'health.transition',
  adminAction: 'admin.action',
  /** Scheduled drills (`drills.schedule`): a run started, its progress and verdict, or why one was skipped. */
  drillScheduled: 'drill.scheduled',
  /** A drill started through `POST /admin/drills/run` (the dashboard's form) on this gateway. */
  drillStarted: 'drill.started',
  drillProgress: 'drill.progress',
  drillEnded: 'drill.ended',
  drillSkipped: 'drill.skipped',
  /** An attempt failed in a way the classifier does not recognise (not blamed on the endpoint). */
  unclassifiedFailure: 'proxy.unclassified_failure',
  /** A TLS handshake with an endpoint failed (certificate, name, client certificate): once per endpoint and reason. */
  upstreamTls: 'upstream.tls_failure',
  /** `listen.tls` files re-read: new handshakes use them (`listener.tls_reloaded`), or they were refused and the old ones stay. */
  listenTlsReloaded: 'listener.tls_reloaded',
  listenTlsReloadFailed: 'listener.tls_reload_failed',
  adminError: 'admin.error',
  adminRefused: 'admin.refused',
  fleetUnsigned: 'fleet.unsigned',
  /** Shared load signals can reach `staleAfter` between two exchanges (see docs/load-aware.md). */
  loadShareSlow: 'load.share_slower_than_stale',
  modelListFailed: 'models.list_failed',
  modelListLearned: 'models.list_learned',
  credentialRefreshFailed: 'credentials.refresh_failed',
  credentialExpired: 'credentials.expired',
  credentialRenewed: 'credentials.renewed',
  /** A config reload: applied (what changed, what needs a restart), or refused (every problem). */
  configReloaded: 'config.reloaded',
  /** `regiongate start` refused its config: every problem (`problems`), then exit 2. */
  configInvalid: 'config.invalid',
  configReloadRefused: 'config.reload_refused',
  configNotLive: 'config.not_live',
} as const;
