/**
 * The one object that wires everything: registry, health, picker, retry budget, the listener. Modules
 * receive what they need; nothing reaches out.
 */
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { ActionOptions } from './admin/action-options.js';
import { AdminServer, type AdminAction, type AdminTarget } from './admin/admin-server.js';
import { ModelCatalog } from './catalog/model-catalog.js';
import { ModelDiscovery } from './catalog/model-discovery.js';
import { createMetricsFetcher, LoadAwareView, LoadBook, LoadScraper } from './load/index.js';
import { createModelListFetcher } from './catalog/model-list-fetch.js';
import type { GatewayConfig } from './config/schema.js';
import { CredentialManager, type CredentialManagerInit } from './credentials/credential-manager.js';
import { ListenError } from './errors.js';
import { FleetSync } from './health/fleet-sync.js';
import { HealthTracker } from './health/health-tracker.js';
import { TlsFailureLog } from './proxy/tls-connect.js';
import type { ProbeFn } from './health/http-probe.js';
import { Gateway } from './proxy/gateway.js';
import type { Endpoint } from './registry/endpoint.js';
import { Registry } from './registry/registry.js';
import { HealthAwarePicker } from './routing/health-picker.js';
import { RetryBudget } from './routing/retry-budget.js';
import { strandedModels } from './routing/stranded-models.js';
import { createStateStore } from './state/create-store.js';
import { FleetSigner } from './state/fleet-signer.js';
import { FleetBoard } from './fleet/fleet-board.js';
import { TrafficTally } from './fleet/traffic-tally.js';
import type { MemoryBus } from './state/memory-store.js';
import type { StateStore } from './state/state-store.js';
import { AccessLog } from './telemetry/access-log.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { GatewayMetrics, fanOut } from './telemetry/gateway-metrics.js';
import { LOG_EVENT, METRIC } from './telemetry/names.js';
import { OtelMetrics } from './telemetry/otel-metrics.js';
import { RequestTracer } from './telemetry/request-tracer.js';
import { systemClock, type Clock } from './util/clock.js';
import { systemRandom, type Random } from './util/random.js';

/** Reported as the tracer's version. */
const VERSION = '0.1.0';

export interface CreateGatewayOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Replaces the HTTP health probe (custom checks). */
  readonly probe?: ProbeFn;
  /** With `state.store: memory`, share one bus between in-process gateways (tests, demos, workers). */
  readonly bus?: MemoryBus;
  /** Overrides `config.gatewayId` (each cluster worker is its own gateway in the fleet). */
  readonly gatewayId?: string;
  /** Where log and access-log lines go (default: stderr). */
  readonly logWrite?: (line: string) => void;
  /** Replaces AWS's standard credential chain for `credentials.aws` endpoints (tests). */
  readonly awsCredentials?: CredentialManagerInit['awsCredentials'];
}

export interface RunningGateway {
  readonly config: GatewayConfig;
  readonly registry: Registry;
  readonly health: HealthTracker;
  readonly picker: HealthAwarePicker;
  /** Learns the model lists of `"*"` endpoints (`refresh()` runs a round now). */
  readonly modelDiscovery: ModelDiscovery;
  /** Reads endpoints' load metrics (`loadSignals`) off the request path. */
  readonly loadScraper: LoadScraper;
  /** The endpoints' latest load signals and their scoring. */
  readonly loadBook: LoadBook;
  readonly retryBudget: RetryBudget;
  readonly gateway: Gateway;
  readonly metrics: GatewayMetrics;
  readonly gatewayId: string;
  readonly store: StateStore;
  readonly fleet: FleetSync;
  /** Refreshed endpoint credentials (`regions[].endpoints[].credentials`). */
  readonly credentials: CredentialManager;
  /** The admin API (undefined when `admin.enabled` is false). */
  readonly admin: AdminServer | undefined;
  /** Start probes and listening; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Base URL of the main listener (after `listen`). */
  readonly url: string;
  /** Graceful drain, then close every pool, timer, probe and store. */
  close(deadlineMs?: number, delayMs?: number): Promise<void>;
}

/** Build a gateway from a resolved config. Nothing listens or probes until `listen()`. */
export function createGateway(config: GatewayConfig, opts: CreateGatewayOptions = {}): RunningGateway {
  const gatewayId = opts.gatewayId ?? config.gatewayId ?? `${hostname()}-${process.pid}`;
  // Every line names its gateway and worker (0: a single process), so merged streams stay apart.
  const logFields = { gatewayId, worker: cluster.isWorker ? (cluster.worker?.id ?? 0) : 0 };
  const logWrite = opts.logWrite ?? ((l: string) => void process.stderr.write(l));
  const logger = opts.logger ?? createLogger(config.log.level, logWrite, logFields);
  // `silent` means nothing on stderr: no access lines either.
  const accessLog = config.log.access && config.log.level !== 'silent' ? new AccessLog(logWrite, logFields) : undefined;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const registry = Registry.fromConfig(config);
  const tlsLog = new TlsFailureLog(logger, clock);
  const health = new HealthTracker({ endpoints: registry.endpoints, clock, random, options: config.health, probe: opts.probe, onTlsFailure: tlsLog.note });
  health.onTransition((t) => logger.info(LOG_EVENT.transition, { ...t }));
  const loadCfg = config.routing.loadSignals;
  const loadBook = new LoadBook(clock, loadCfg, (e) => health.inflight(e));
  const metricsPages = createMetricsFetcher({ maxBytes: loadCfg.maxBytes, connectTimeout: config.timeouts.connect, onTlsFailure: tlsLog.note });
  const loadScraper = new LoadScraper({ endpoints: registry.endpoints, clock, fetch: metricsPages.fetch, book: loadBook, timeout: loadCfg.timeout });
  const loadView = new LoadAwareView(health, loadBook);
  const picker = new HealthAwarePicker({
    registry,
    health: loadView,
    random,
    options: {
      overprovisioningFactor: config.routing.overprovisioningFactor,
      panicThreshold: config.routing.panicThreshold,
      scoreTolerance: config.routing.scoreTolerance,
      routeRules: config.routing.rules,
    },
  });
  const retryBudget = new RetryBudget({ clock, ...config.retry.budget });
  const catalog = new ModelCatalog({ endpoints: registry.endpoints, rules: config.routing.rules, health });
  const discoveryCfg = config.routing.modelDiscovery;
  const modelLists = createModelListFetcher({ maxBytes: discoveryCfg.maxBytes, connectTimeout: config.timeouts.connect, onTlsFailure: tlsLog.note });
  const discovery = new ModelDiscovery({
    endpoints: registry.endpoints,
    clock,
    fetch: modelLists.fetch,
    options: { interval: discoveryCfg.interval, timeout: discoveryCfg.timeout },
    logger,
  });
  const credentials = new CredentialManager({ config, endpoints: registry.endpoints, health, clock, logger, awsCredentials: opts.awsCredentials });
  const st = config.state;
  const fleet = new FleetSync({
    gatewayId,
    clock,
    registry,
    health,
    maxEjectShare: st.trust.maxEjectShare,
    maxRemoteTtlMs: st.trust.maxRemoteTtl,
    egressThreshold: st.trust.egressThreshold,
  });
  const r = st.redis;
  const store = createStateStore(st, {
    gatewayId,
    clock,
    random,
    localEvents: fleet.localEvents,
    bus: opts.bus,
    logger,
    tuning: {
      refreshIntervalMs: st.refreshInterval,
      connectTimeoutMs: r.connectTimeout,
      heartbeatIntervalMs: r.heartbeatInterval,
      heartbeatTimeoutMs: r.heartbeatTimeout,
      startTimeoutMs: r.startTimeout,
      maxInFlight: r.maxInFlight,
      maxReconnectDelayMs: r.maxReconnectDelay,
    },
  });
  fleet.attach(store);
  let gateway: Gateway | undefined;
  const metrics = new GatewayMetrics(registry.endpoints, health, () => gateway?.inflight ?? 0, OtelMetrics.fromGlobal(VERSION));
  metrics.registry.gauge(METRIC.storeConnected, 'Whether the state store can publish and receive (1) or is degraded (0).', () => [
    [{ store: store.kind }, store.status().connected && !store.status().degraded ? 1 : 0],
  ]);
  metrics.registry.counterFrom(METRIC.storeEvents, 'Fleet events through the state store, by direction.', () => {
    const s = store.status();
    return [
      [{ direction: 'published' }, s.published],
      [{ direction: 'received' }, s.received],
      [{ direction: 'dropped' }, s.dropped],
      [{ direction: 'malformed' }, s.malformed],
      [{ direction: 'rejected' }, s.rejected],
    ];
  });
  metrics.registry.counterFrom(METRIC.outlierEjectionsWithheld, 'Outlier ejections withheld by health.outlier.maxEjectionPercent.', () => [
    [{}, health.withheldEjections],
  ]);
  const loadGauge = (name: string, help: string, value: (e: (typeof registry.endpoints)[number]) => number | undefined): void => {
    metrics.registry.gauge(name, help, () =>
      registry.endpoints.flatMap((e) => {
        const v = e.loadSignals === undefined ? undefined : value(e);
        return v === undefined ? [] : [[{ endpoint: e.id, region: e.region }, v] as const];
      }),
    );
  };
  loadGauge(METRIC.endpointLoadWaiting, 'Requests waiting on the model server, as it last reported (fresh signals only).', (e) => loadBook.signals(e, undefined)?.waiting);
  loadGauge(METRIC.endpointLoadRunning, 'Requests running on the model server, as it last reported (fresh signals only).', (e) => loadBook.signals(e, undefined)?.running);
  loadGauge(METRIC.endpointLoadKv, 'KV cache use 0..1 the model server last reported (fresh signals only).', (e) => loadBook.signals(e, undefined)?.kv);
  loadGauge(METRIC.endpointLoadAge, 'Seconds since the endpoint\'s load signals were last read.', (e) => {
    const age = loadBook.ageMs(e);
    return age === undefined ? undefined : age / 1000;
  });
  loadGauge(METRIC.endpointLoadPredictedWaiting, 'Requests predicted waiting on the model server now: its last report plus this gateway\'s attempts since (what scoring uses).', (e) => loadBook.predicted(e, undefined)?.waiting);
  loadGauge(METRIC.endpointLoadPredictedRunning, 'Sequences predicted running on the model server now (what scoring uses).', (e) => loadBook.predicted(e, undefined)?.running);
  loadGauge(METRIC.endpointLoadSaturated, 'Whether the model server says it is saturated (1): out of first picks.', (e) => (loadBook.saturated(e, undefined) ? 1 : 0));
  loadGauge(METRIC.endpointScore, 'Routing score (predicted time to first token, ms) with load signals; latency only when stale.', (e) => loadView.score(e));
  health.onTransition((t) => metrics.transition(t));
  const tally = new TrafficTally(registry.endpoints, clock);
  const board = new FleetBoard({
    gatewayId,
    clock,
    store,
    signer: new FleetSigner(st.secret),
    tally,
    endpoints: () => health.snapshot(),
    inflight: () => gateway?.inflight ?? 0,
    intervalMs: st.summaryInterval,
  });
  gateway = new Gateway({
    config,
    picker,
    observer: fanOut(health, metrics, tally),
    retryGate: retryBudget,
    logger,
    catalog,
    onRequestEnd: (status, code, exchange) => {
      const now = performance.now();
      metrics.requestEnded(status, code, exchange, now);
      accessLog?.served(exchange, code, now);
      tally.requestEnded(status);
    },
    tracer: config.telemetry.tracing ? new RequestTracer(VERSION) : undefined,
    onTlsFailure: tlsLog.note,
  });
  const gw = gateway;
  const target: AdminTarget = {
    state: () => ({
      gatewayId,
      draining: gw.draining,
      inflight: gw.inflight,
      store: store.status(),
      fleet: { ...fleet.view.summary(), trust: st.store === 'memory' ? 'local' : store.status().signed ? 'signed' : 'trusts every writer' },
      retryBudget: retryBudget.balance(),
      endpoints: health.snapshot().map((h) => {
        const e = registry.endpoint(h.id);
        const load = e === undefined ? undefined : loadBook.snapshot(e);
        return load === undefined || e === undefined ? h : { ...h, loadSignals: load, score: loadView.score(e) };
      }),
    }),
    metrics: () => metrics.registry.render(),
    fleet: () => board.view(),
    drills: () => board.drills(),
    recordDrill: (record) => board.recordDrill(record),
    act: (action, scope, name, options) => {
      const endpoints = scope === 'region' ? registry.region(name)?.endpoints : [registry.endpoint(name)].filter((e) => e !== undefined);
      if (endpoints === undefined || endpoints.length === 0) return undefined;
      if ((action === 'drain' || action === 'drill') && !options.force) {
        const stranded = strandedModels(registry.endpoints, new Set(endpoints.map((e) => e.id)), health);
        if (stranded.length > 0) {
          logger.warn(LOG_EVENT.adminRefused, { action, scope, name, models: stranded });
          return { strandedModels: stranded };
        }
      }
      for (const e of endpoints) applyAction(health, fleet, action, e, options);
      logger.info(LOG_EVENT.adminAction, { action, scope, name, force: options.force, reason: options.reason });
      return endpoints.map((e) => e.id);
    },
  };
  const admin = config.admin.enabled ? new AdminServer(target, { ...config.admin, logger }) : undefined;
  let closing: Promise<void> | undefined;
  const close = (deadlineMs?: number, delayMs?: number): Promise<void> => {
    closing ??= gw
      .drain(deadlineMs, delayMs)
      .then(() => {
        fleet.close();
        board.close();
        discovery.close();
        credentials.close();
        loadScraper.close();
        return Promise.all([health.close(), admin?.close(), store.close(), modelLists.close(), metricsPages.close()]);
      })
      .then(() => undefined);
    return closing;
  };
  return {
    config,
    registry,
    health,
    picker,
    modelDiscovery: discovery,
    loadScraper,
    loadBook,
    retryBudget,
    gateway: gw,
    metrics,
    gatewayId,
    store,
    fleet,
    credentials,
    admin,
    async listen() {
      if (st.store === 'redis' && st.secret === undefined)
        logger.warn(LOG_EVENT.fleetUnsigned, {
          message: 'state.secret is not set: fleet messages are not signed, and anyone who can write to Redis can drain or eject endpoints on every gateway',
        });
      // The store never blocks start-up for long: with Redis down it starts degraded and reconnects.
      await store.start();
      // First tokens before the first request (each bounded by its command's timeout).
      await credentials.start();
      let address: AddressInfo;
      try {
        address = await gw.listen().catch((err: unknown) => {
          throw new ListenError('main', config.listen.host, config.listen.port, err);
        });
        await admin?.listen(config.admin.port, config.admin.host).catch((err: unknown) => {
          throw new ListenError('admin', config.admin.host, config.admin.port, err);
        });
      } catch (err) {
        // A start that cannot bind releases what it holds (Redis connections, the other listener).
        await close(0, 0);
        throw err;
      }
      health.start();
      discovery.start();
      board.start();
      loadScraper.start();
      logger.info(LOG_EVENT.listening, { url: gw.url, admin: admin?.url });
      return address;
    },
    get url() {
      return gw.url;
    },
    close,
  };
}

/** Drains and drills are fleet intents (`FleetSync`); ejections are this gateway's, shared as reports. */
function applyAction(health: HealthTracker, fleet: FleetSync, action: AdminAction, endpoint: Endpoint, o: ActionOptions): void {
  switch (action) {
    case 'drain':
      return fleet.drain(endpoint.id, o.reason, o.seconds === undefined ? undefined : o.seconds * 1000);
    case 'undrain':
      fleet.undrain(endpoint.id, o.reason);
      fleet.endDrill(endpoint.id, o.reason);
      return health.undrain(endpoint); // a local drain from before intents, if any
    case 'undrill':
      return fleet.endDrill(endpoint.id, o.reason);
    case 'drill':
      return fleet.drill(endpoint.id, o.reason, (o.seconds ?? 30) * 1000);
    case 'eject':
      return health.eject(endpoint, 'operator');
    case 'uneject':
      return health.uneject(endpoint, 'operator');
  }
}
