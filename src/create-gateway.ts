/**
 * The one object that wires everything: registry, health, picker, retry budget, the listener. Modules
 * receive what they need; nothing reaches out.
 */
import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from './config/schema.js';
import { HealthTracker } from './health/health-tracker.js';
import type { ProbeFn } from './health/http-probe.js';
import { Gateway } from './proxy/gateway.js';
import { Registry } from './registry/registry.js';
import { HealthAwarePicker } from './routing/health-picker.js';
import { RetryBudget } from './routing/retry-budget.js';
import { servedModels } from './routing/served-models.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { LOG_EVENT } from './telemetry/names.js';
import { systemClock, type Clock } from './util/clock.js';
import { systemRandom, type Random } from './util/random.js';

export interface CreateGatewayOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Replaces the HTTP health probe (custom checks). */
  readonly probe?: ProbeFn;
}

export interface RunningGateway {
  readonly config: GatewayConfig;
  readonly registry: Registry;
  readonly health: HealthTracker;
  readonly picker: HealthAwarePicker;
  readonly retryBudget: RetryBudget;
  readonly gateway: Gateway;
  /** Start probes and listening; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Base URL of the main listener (after `listen`). */
  readonly url: string;
  /** Graceful drain, then close every pool, timer, probe and store. */
  close(deadlineMs?: number, delayMs?: number): Promise<void>;
}

/** Build a gateway from a resolved config. Nothing listens or probes until `listen()`. */
export function createGateway(config: GatewayConfig, opts: CreateGatewayOptions = {}): RunningGateway {
  const logger = opts.logger ?? createLogger(config.log.level);
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const registry = Registry.fromConfig(config);
  const health = new HealthTracker({ endpoints: registry.endpoints, clock, random, options: config.health, probe: opts.probe });
  health.onTransition((t) => logger.info(LOG_EVENT.transition, { ...t }));
  const picker = new HealthAwarePicker({
    registry,
    health,
    random,
    options: {
      overprovisioningFactor: config.routing.overprovisioningFactor,
      panicThreshold: config.routing.panicThreshold,
      scoreTolerance: config.routing.scoreTolerance,
      routeRules: config.routing.rules,
    },
  });
  const retryBudget = new RetryBudget({ clock, ...config.retry.budget });
  const models = (): string[] | undefined => servedModels(registry.endpoints, health);
  const gateway = new Gateway({ config, picker, observer: health, retryGate: retryBudget, logger, models });
  let closing: Promise<void> | undefined;
  return {
    config,
    registry,
    health,
    picker,
    retryBudget,
    gateway,
    async listen() {
      const address = await gateway.listen();
      health.start();
      logger.info(LOG_EVENT.listening, { url: gateway.url });
      return address;
    },
    get url() {
      return gateway.url;
    },
    close(deadlineMs?: number, delayMs?: number) {
      closing ??= gateway.drain(deadlineMs, delayMs).then(() => health.close());
      return closing;
    },
  };
}
