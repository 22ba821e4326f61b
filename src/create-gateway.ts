/**
 * The one object that wires everything: registry, health, picker, retry budget, the listener. Modules
 * receive what they need; nothing reaches out.
 */
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { ActionOptions } from './admin/action-options.js';
import { AdminServer, type AdminAction, type AdminTarget } from './admin/admin-server.js';
import { DashboardFeed } from './admin/dashboard-feed.js';
import { Timeline } from './admin/timeline.js';
import { ModelCatalog } from './catalog/model-catalog.js';
import { ModelDiscovery } from './catalog/model-discovery.js';
import { createMetricsFetcher, FleetScrape, LoadAwareView, LoadBook, LoadScraper } from './load/index.js';
import { createModelListFetcher } from './catalog/model-list-fetch.js';
import type { GatewayConfig, ListenTlsConfig } from './config/schema.js';
import { CredentialManager, type CredentialManagerInit } from './credentials/credential-manager.js';
import { ConfigError, ListenError } from './errors.js';
import { FleetSync } from './health/fleet-sync.js';
import { HealthTracker } from './health/health-tracker.js';
import { TlsFailureLog } from './transport/tls-connect.js';
import type { ProbeFn } from './health/http-probe.js';
import { Gateway } from './proxy/gateway.js';
import type { ListenerCertificate } from './proxy/listener-tls.js';
import type { Endpoint } from './registry/endpoint.js';
import { Registry } from './registry/registry.js';
import { LiveRegistry } from './registry/live-registry.js';
import { gatewayReloader } from './reload/gateway-reload.js';
import type { ReloadHook, ReloadResult } from './reload/reloader.js';
import { SwitchPicker } from './routing/switch-picker.js';
import { HealthAwarePicker } from './routing/health-picker.js';
import { RetryBudget } from './routing/retry-budget.js';
import { strandedModels } from './routing/stranded-models.js';
import { createStateStore } from './state/create-store.js';
import { FleetSigner } from './state/fleet-signer.js';
import { FleetBoard } from './fleet/fleet-board.js';
import { ShareHistory } from './fleet/share-history.js';
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
import { FaultInjector } from './fault/fault-injector.js';
import { encodeFault } from './fault/fault-spec.js';
import { AdminClient } from './drill/admin-client.js';
import { DrillSchedule } from './drill/drill-schedule.js';
import { parseDrillRequest } from './drill/drill-request.js';
import { DrillRunner } from './drill/drill-runner.js';

/** Reported as the tracer's version. */
const VERSION = '0.1.0';
/** The traffic-share chart: one sample per this many fleet summary intervals (5 s by default), 10 minutes of them. */
const SHARE_SAMPLE_INTERVALS = 5;
const SHARE_SAMPLES = 120;

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
  /**
   * Re-reads the config for a reload (the CLI: the same file through the same loader); throws
   * `ConfigError`. Without it `reload()` is refused: there is nothing to re-read.
   */
  readonly configSource?: () => GatewayConfig;
}

export interface RunningGateway {
  /** The config in force (the latest reloaded one). */
  readonly config: GatewayConfig;
  /** The endpoints in force (a reload swaps the registry behind it). */
  readonly registry: LiveRegistry;
  readonly health: HealthTracker;
  /** The picker in force (a reload builds a new one). */
  readonly picker: HealthAwarePicker;
  /** Learns the model lists of `"*"` endpoints (`refresh()` runs a round now). */
  readonly modelDiscovery: ModelDiscovery;
  /** Reads endpoints' load metrics (`loadSignals`) off the request path. */
  readonly loadScraper: LoadScraper;
  /** The endpoints' latest load signals and their scoring. */
  readonly loadBook: LoadBook;
  /** Who scrapes which endpoint across the fleet, and the values shared through the store. */
  readonly fleetScrape: FleetScrape;
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
  /**
   * Re-read the config (`configSource`) and apply it (`reload/reloader.ts`); rejects with `ConfigError`
   * listing every problem, having changed nothing. `config` applies the given one instead.
   */
  reload(config?: GatewayConfig): Promise<ReloadResult>;
  /** Run `hook` after every applied reload; returns the unsubscribe function. */
  onReload(hook: ReloadHook): () => void;
  /** Start probes and listening; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Base URL of the main listener (after `listen`): `https://` with `listen.tls`. */
  readonly url: string;
  /**
   * Re-read the `listen.tls` files (those of `tls` when given, e.g. from a reloaded config): new handshakes
   * present the new certificate, established connections keep theirs. Throws `ConfigError` on a bad file and
   * keeps the old certificate. Undefined when the listener is plain HTTP.
   */
  reloadListenTls(tls?: ListenTlsConfig): ListenerCertificate | undefined;
  /** Graceful drain, then close every pool, timer, probe and store. */
  close(deadlineMs?: number, delayMs?: number): Promise<void>;
}

/** Build a gateway from a resolved config. Nothing listens or probes until `listen()`. */
export function createGateway(config: GatewayConfig, opts: CreateGatewayOptions = {}): RunningGateway {
  const gatewayId = opts.gatewayId ?? config.gatewayId ?? `${hostname()}-${process.pid}`;
  // Every line names its gateway and worker (0: a single process), so merged streams stay apart.
  const logFields = { gatewayId, worker: cluster.isWorker ? (cluster.worker?.id ?? 0) : 0 };
  const logWrite = opts.logWrite ?? ((l: string) => void process.stderr.write(l));
  // Our own logger's level follows `log.level` across reloads; a given one is the caller's to set.
  const levelled = opts.logger === undefined ? createLogger(config.log.level, logWrite, logFields) : undefined;
  const logger: Logger = opts.logger ?? (levelled as Logger);
  // `silent` means nothing on stderr: no access lines either. Rebuilt by a reload (`log.access` is live).
  const accessLogFor = (c: GatewayConfig): AccessLog | undefined => (c.log.access && c.log.level !== 'silent' ? new AccessLog(logWrite, logFields) : undefined);
  let accessLog = accessLogFor(config);
  // Spans with the SDK the process registers; `telemetry.tracing` is live (`Gateway.setTracer`).
  const tracerFor = (c: GatewayConfig): RequestTracer | undefined => (c.telemetry.tracing ? new RequestTracer(VERSION) : undefined);
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const registry = new LiveRegistry(Registry.fromConfig(config));
  let current = config;
  const tlsLog = new TlsFailureLog(logger, clock);
  const health = new HealthTracker({ endpoints: registry.endpoints, clock, random, options: config.health, probe: opts.probe, onTlsFailure: tlsLog.note });
  health.onTransition((t) => logger.info(LOG_EVENT.transition, { ...t }));
  const loadCfg = config.routing.loadSignals;
  const loadBook = new LoadBook(clock, loadCfg, (e) => health.inflight(e));
  const metricsPages = createMetricsFetcher({ maxBytes: loadCfg.maxBytes, connectTimeout: config.timeouts.connect, onTlsFailure: tlsLog.note });
  const loadView = new LoadAwareView(health, loadBook);
  const buildPicker = (endpoints: readonly Endpoint[], routing: GatewayConfig['routing']): HealthAwarePicker =>
    new HealthAwarePicker({
      endpoints,
      health: loadView,
      random,
      options: {
        overprovisioningFactor: routing.overprovisioningFactor,
        panicThreshold: routing.panicThreshold,
        scoreTolerance: routing.scoreTolerance,
        routeRules: routing.rules,
      },
    });
  const picker = new SwitchPicker(buildPicker(registry.endpoints, config.routing));
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
  const store = createStateStore(st, {
    gatewayId,
    clock,
    random,
    localEvents: fleet.localEvents,
    bus: opts.bus,
    logger,
  });
  fleet.attach(store);
  const signer = new FleetSigner(st.secret);
  const scrapeIntervals = registry.endpoints.flatMap((e) => (e.loadSignals === undefined ? [] : [e.loadSignals.interval]));
  // Exchange as often as the most frequent scrape (at least once a minute; unused without loadSignals).
  const shareInterval = Math.min(...scrapeIntervals, 60_000);
  const fleetScrape = new FleetScrape({
    gatewayId,
    clock,
    store,
    signer,
    book: loadBook,
    endpoints: registry.endpoints,
    intervalMs: shareInterval,
    // A gateway is live while its record is: one heartbeat timeout, and never less than three exchanges
    // (a slower exchange than the heartbeat would otherwise drop live gateways between two writes).
    liveTtlMs: Math.max(st.redis.heartbeatTimeout, 3 * shareInterval),
    staleAfter: loadCfg.staleAfter,
  });
  const loadScraper = new LoadScraper({
    endpoints: registry.endpoints,
    clock,
    fetch: metricsPages.fetch,
    book: loadBook,
    timeout: loadCfg.timeout,
    shouldScrape: (e) => fleetScrape.shouldScrape(e),
    onRead: (e, byModel) => fleetScrape.noteRead(e, byModel),
  });
  const otel = OtelMetrics.fromGlobal(VERSION);
  const faults = new FaultInjector(registry.regions.map((r) => r.name), clock, random, otel && ((region, fault) => otel.faultInjected(region, fault)));
  const offFaults = fleet.view.onFaults(faults.update);
  let gateway: Gateway | undefined;
  const metrics = new GatewayMetrics(registry.endpoints, health, () => gateway?.inflight ?? 0, otel);
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
  // One series per outcome, read from the counters at each scrape of /metrics.
  const byOutcome = (name: string, help: string, counts: () => Record<string, number>): void =>
    void metrics.registry.counterFrom(name, help, () => Object.entries(counts()).map(([outcome, n]) => [{ outcome }, n] as const));
  byOutcome(METRIC.loadShared, 'Load reads shared through the store (scrape once per fleet), by outcome.', () => {
    const s = fleetScrape.status();
    return { published: s.published, accepted: s.accepted, refused_record: s.refusedRecords, refused_read: s.refusedReads };
  });
  byOutcome(METRIC.loadScrapes, 'Load-metrics scrapes made here, and turns skipped because another gateway read and shared.', () => ({
    scraped: loadScraper.scrapes,
    skipped: loadScraper.skipped,
  }));
  metrics.registry.counterFrom(METRIC.faultsInjected, 'Faults a drill injected into attempts (never real failures), by region and kind.', () => faults.counts());
  health.onTransition((t) => metrics.transition(t));
  const tally = new TrafficTally(registry.endpoints, clock);
  const board = new FleetBoard({
    gatewayId,
    clock,
    store,
    signer,
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
    clock,
    logger,
    catalog,
    onRequestEnd: (status, code, exchange) => {
      const now = performance.now();
      metrics.requestEnded(status, code, exchange, now);
      accessLog?.served(exchange, code, now);
      tally.requestEnded(status, code);
    },
    tracer: tracerFor(config),
    onTlsFailure: tlsLog.note,
    faults,
  });
  const gw = gateway;
  const reloader = gatewayReloader({
    config: { get: () => current, set: (c) => void (current = c) },
    registry,
    health,
    picker,
    buildPicker,
    catalog,
    gateway: gw,
    levelled,
    loadScraper,
    loadBook,
    fleetScrape,
    discovery,
    metrics,
    tally,
    fleet,
    credentials,
    sideClients: [modelLists, metricsPages],
    logger,
    retryBudget,
    setAccessLog: (cfg) => void (accessLog = accessLogFor(cfg)),
    setTracing: (cfg) => gw.setTracer(tracerFor(cfg)),
  });
  // TLS toward clients: every applied reload re-reads the listener's files (a renewed certificate with an
  // unchanged config included); new handshakes present it, connections in use keep theirs. Turning TLS on
  // or off needs a new listener: named, not applied.
  reloader.onReload((cfg) => {
    if (gw.tlsCertificate === undefined) {
      if (cfg.listen.tls !== undefined) logger.warn(LOG_EVENT.configNotLive, { settings: ['listen.tls'], message: 'TLS toward clients needs a restart to turn on' });
      return;
    }
    if (cfg.listen.tls === undefined) logger.warn(LOG_EVENT.configNotLive, { settings: ['listen.tls'], message: 'TLS toward clients needs a restart to turn off' });
    else gw.reloadTls(cfg.listen.tls);
  });
  const reload = (cfg?: GatewayConfig): Promise<ReloadResult> => {
    const source = cfg === undefined ? opts.configSource : () => cfg;
    if (source === undefined) return Promise.reject(new ConfigError(['no config file to reload from (the gateway was built from an in-memory config)']));
    return reloader.reload(source);
  };
  const adminState = () => ({
    gatewayId,
    draining: gw.draining,
    inflight: gw.inflight,
    store: store.status(),
    fleet: { ...fleet.view.summary(), trust: st.store === 'memory' ? 'local' : store.status().signed ? 'signed' : 'trusts every writer' },
    retryBudget: retryBudget.balance(),
    faults: faults.active(),
    ...(scrapeIntervals.length > 0 && { loadSharing: fleetScrape.status() }),
    endpoints: health.snapshot().map((h) => {
      const e = registry.endpoint(h.id);
      const load = e === undefined ? undefined : loadBook.snapshot(e);
      return load === undefined || e === undefined ? h : { ...h, loadSignals: { ...load, ...fleetScrape.source(e) }, score: loadView.score(e) };
    }),
  });
  // The dashboard's story and chart, kept whether or not anyone watches (history right after page load).
  const timeline = new Timeline();
  health.onTransition((t) => timeline.add({ at: t.at, kind: 'transition', subject: t.endpointId, text: `${t.from} → ${t.to} (${t.cause})` }));
  const shares = new ShareHistory({ clock, intervalMs: st.summaryInterval * SHARE_SAMPLE_INTERVALS, size: SHARE_SAMPLES, totals: () => board.totals().regions });
  const feed = new DashboardFeed({
    clock,
    state: adminState,
    fleet: () => board.view(),
    drills: () => board.drills(),
    timeline,
    shares,
    providers: () => Object.fromEntries(registry.regions.map((r) => [r.name, r.provider])),
  });
  const target: AdminTarget = {
    state: adminState,
    dashboard: () => feed.snapshot(),
    timeline,
    metrics: () => metrics.registry.render(),
    fleet: () => board.view(),
    drills: () => board.drills(),
    recordDrill: (record) => board.recordDrill(record),
    startDrill: async (body) => {
      const parsed = parseDrillRequest(body);
      if ('problems' in parsed) return { status: 400, code: 'RG_ADMIN_BAD_REQUEST', message: parsed.problems.join('; ') };
      if (registry.region(parsed.options.region) === undefined)
        return { status: 404, code: 'RG_ADMIN_NOT_FOUND', message: `unknown region ${JSON.stringify(parsed.options.region)}` };
      if (drills === undefined) return { status: 503, code: 'RG_ADMIN_UNAVAILABLE', message: 'the gateway is not listening' };
      return drills.start(parsed.options);
    },
    reload: () => reload(),
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
      const length = options.seconds === undefined ? '' : ` for ${options.seconds} s`;
      timeline.add({ at: clock.now(), kind: 'action', subject: name, text: `${action}${length}${options.force ? ' (forced)' : ''} by ${options.reason}` });
      return endpoints.map((e) => e.id);
    },
  };
  const admin = config.admin.enabled ? new AdminServer(target, { ...config.admin, logger, clock }) : undefined;
  let schedule: DrillSchedule | undefined;
  /** Drills started through the admin API; set once the admin API listens (the drills run through it). */
  let drills: DrillRunner | undefined;
  let closing: Promise<void> | undefined;
  const close = (deadlineMs?: number, delayMs?: number): Promise<void> => {
    // Dashboards are told at once (their streams end) rather than watching a gateway that is going away.
    admin?.closeStreams();
    shares.close();
    // A drill running here (scheduled or started through the admin API) is aborted first (it restores its
    // region and records `aborted`), then the gateway drains.
    closing ??= Promise.all([schedule?.close(), drills?.close()])
      .then(() => gw.drain(deadlineMs, delayMs))
      .then(() => {
        offFaults();
        fleet.close();
        board.close();
        fleetScrape.close();
        discovery.close();
        credentials.close();
        loadScraper.close();
        return Promise.all([health.close(), admin?.close(), store.close(), modelLists.close(), metricsPages.close()]);
      })
      .then(() => undefined);
    return closing;
  };
  return {
    get config() {
      return current;
    },
    registry,
    health,
    get picker() {
      return picker.current;
    },
    modelDiscovery: discovery,
    loadScraper,
    loadBook,
    fleetScrape,
    retryBudget,
    gateway: gw,
    metrics,
    gatewayId,
    store,
    fleet,
    credentials,
    admin,
    reload,
    onReload: (hook) => reloader.onReload(hook),
    async listen() {
      if (st.store === 'redis' && st.secret === undefined)
        logger.warn(LOG_EVENT.fleetUnsigned, {
          message: 'state.secret is not set: fleet messages are not signed, and anyone who can write to Redis can drain or eject endpoints on every gateway',
        });
      if (st.store === 'redis' && scrapeIntervals.length > 0 && loadCfg.staleAfter < 3 * shareInterval)
        logger.warn(LOG_EVENT.loadShareSlow, {
          message: `routing.loadSignals.staleAfter (${loadCfg.staleAfter} ms) is under 3 × the shortest loadSignals.interval (${shareInterval} ms): values shared by another gateway can go stale between exchanges, and then every gateway scrapes for itself`,
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
      const self = admin === undefined ? undefined : new AdminClient(loopbackUrl(admin.url), config.admin.token);
      if (self !== undefined) drills = new DrillRunner({ clock, logger, admin: self });
      if (drills !== undefined && config.drills.schedule.length > 0) {
        schedule = new DrillSchedule(config.drills, {
          clock,
          random,
          store,
          logger,
          runner: drills,
          unwise: (name) => drillUnwise(registry, health, name),
        });
        schedule.start();
      }
      health.start();
      discovery.start();
      board.start();
      shares.start();
      // One exchange first, so a gateway joining a fleet leaves the others' endpoints to them from its first turn.
      await fleetScrape.start();
      loadScraper.start();
      logger.info(LOG_EVENT.listening, { url: gw.url, admin: admin?.url });
      return address;
    },
    get url() {
      return gw.url;
    },
    reloadListenTls: (tls) => gw.reloadTls(tls),
    close,
  };
}

/** Why a scheduled drill of `name` would be unwise now: the region, or its failover target, is not healthy. */
function drillUnwise(registry: LiveRegistry, health: HealthTracker, name: string): string | undefined {
  const region = registry.region(name);
  if (region === undefined) return `unknown region ${name}`;
  const sick = region.endpoints.filter((e) => health.state(e) !== 'healthy');
  if (sick.length > 0) return `region ${name} is not healthy (${sick.map((e) => `${e.id} ${health.state(e)}`).join(', ')})`;
  const stranded = strandedModels(registry.endpoints, new Set(region.endpoints.map((e) => e.id)), health);
  if (stranded.length > 0) return `no healthy failover target for ${stranded.map((m) => `"${m}"`).join(', ')}`;
  return undefined;
}

/** The admin URL to call from this process: a wildcard bind (0.0.0.0, ::) is reached on loopback. */
function loopbackUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

/**
 * Drains, drills, faults and unejects are fleet intents (`FleetSync`); an operator's ejection is this
 * gateway's, shared as a report like any other.
 */
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
    case 'fault':
      return o.fault === undefined ? undefined : fleet.fault(endpoint.id, encodeFault(o.fault, o.reason), (o.seconds ?? 30) * 1000);
    case 'unfault':
      return fleet.endFault(endpoint.id, encodeFault({ kind: 'error', percent: 0, delayMs: 0 }, o.reason));
    case 'eject':
      return health.eject(endpoint, 'operator');
    case 'uneject':
      return fleet.uneject(endpoint.id, o.reason);
  }
}
