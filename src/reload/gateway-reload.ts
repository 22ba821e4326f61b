/**
 * The reload of a gateway built by `createGateway`: which of its parts each step of `Reloader` touches.
 * Kept here so the wiring file only hands its parts over.
 */
import type { ModelCatalog } from '../catalog/model-catalog.js';
import type { ModelDiscovery } from '../catalog/model-discovery.js';
import type { GatewayConfig } from '../config/schema.js';
import type { CredentialManager } from '../credentials/credential-manager.js';
import type { FleetSync } from '../health/fleet-sync.js';
import type { HealthTracker } from '../health/health-tracker.js';
import type { TrafficTally } from '../fleet/traffic-tally.js';
import type { LoadScraper } from '../load/load-scraper.js';
import type { Gateway } from '../proxy/gateway.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { LiveRegistry } from '../registry/live-registry.js';
import type { HealthAwarePicker } from '../routing/health-picker.js';
import type { SwitchPicker } from '../routing/switch-picker.js';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.js';
import type { LevelledLogger, Logger } from '../telemetry/logger.js';
import { Reloader } from './reloader.js';

/** The parts of a running gateway a reload changes. */
export interface GatewayParts {
  /** The config in force, and where a reload installs the next one. */
  readonly config: { get(): GatewayConfig; set(config: GatewayConfig): void };
  readonly registry: LiveRegistry;
  readonly health: HealthTracker;
  readonly picker: SwitchPicker<HealthAwarePicker>;
  readonly buildPicker: (endpoints: readonly Endpoint[], routing: GatewayConfig['routing']) => HealthAwarePicker;
  readonly catalog: ModelCatalog;
  readonly gateway: Gateway;
  /** The gateway's own logger, whose level follows `log.level` (undefined: the caller's). */
  readonly levelled: LevelledLogger | undefined;
  readonly loadScraper: LoadScraper;
  /** Load scoring (`routing.loadSignals` thresholds and weights) is live. */
  readonly loadBook: { configure(scoring: GatewayConfig['routing']['loadSignals']): void };
  /** Who scrapes which endpoint's load metrics fleet-wide: re-ranked over the new endpoints. */
  readonly fleetScrape: { setEndpoints(endpoints: readonly Endpoint[]): void };
  readonly discovery: ModelDiscovery;
  readonly metrics: GatewayMetrics;
  readonly tally: TrafficTally;
  readonly fleet: FleetSync;
  readonly credentials: CredentialManager;
  /** Side clients holding per-endpoint pools (model lists, load metrics). */
  readonly sideClients: readonly { forget(endpoint: Endpoint): void }[];
  readonly logger: Logger;
  /** `retry.budget` is live: new settings, the window kept unless its length changed. */
  readonly retryBudget: { configure(options: GatewayConfig['retry']['budget']): void };
  /** `log.access` (and `log.level: silent`) is live: the access log is rebuilt from the new config. */
  readonly setAccessLog: (config: GatewayConfig) => void;
  /** `telemetry.tracing` is live: later requests are traced, or no longer. */
  readonly setTracing: (config: GatewayConfig) => void;
}

export function gatewayReloader(p: GatewayParts): Reloader {
  return new Reloader({
    config: () => p.config.get(),
    registry: () => p.registry.current,
    swapHealth: (removed, added) => {
      p.health.removeEndpoints(removed);
      p.health.addEndpoints(added);
    },
    install: (next, cfg) => {
      p.registry.swap(next);
      p.config.set(cfg);
      p.picker.swap(p.buildPicker(next.endpoints, cfg.routing));
      p.catalog.update(next.endpoints, cfg.routing.rules);
      p.gateway.reconfigure(cfg);
      p.health.configure(cfg.health);
      p.loadBook.configure(cfg.routing.loadSignals);
      p.levelled?.setLevel(cfg.log.level);
      p.setAccessLog(cfg);
      p.setTracing(cfg);
      p.retryBudget.configure(cfg.retry.budget);
    },
    swapSideWork: (removed, added) => {
      for (const e of removed) for (const c of p.sideClients) c.forget(e);
      p.loadScraper.remove(removed);
      p.loadScraper.add(added);
      p.fleetScrape.setEndpoints(p.registry.endpoints);
      p.discovery.remove(removed);
      p.discovery.add(added);
      p.metrics.addEndpoints(added);
      p.tally.addRegions(added);
      p.fleet.endpointsAdded(added.map((e) => e.id));
    },
    swapCredentials: async (cfg, removed, added) => {
      p.credentials.remove(removed);
      await p.credentials.add(cfg, added);
    },
    retire: (removed) => p.gateway.retire(removed),
    logger: p.logger,
  });
}
