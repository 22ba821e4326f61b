/**
 * The one object that wires everything: registry, picker, health, state store, the listener. Modules
 * receive what they need; nothing reaches out.
 */
import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from './config/schema.js';
import { Gateway } from './proxy/gateway.js';
import { Registry } from './registry/registry.js';
import { StaticPicker } from './routing/static-picker.js';
import type { Picker } from './routing/picker.js';
import { createLogger, type Logger } from './telemetry/logger.js';

export interface CreateGatewayOptions {
  readonly logger?: Logger;
}

export interface RunningGateway {
  readonly config: GatewayConfig;
  readonly registry: Registry;
  readonly picker: Picker;
  readonly gateway: Gateway;
  /** Start listening; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Base URL of the main listener (after `listen`). */
  readonly url: string;
  /** Graceful drain, then close every pool, timer, probe and store. */
  close(deadlineMs?: number, delayMs?: number): Promise<void>;
}

/** Build a gateway from a resolved config. Nothing listens until `listen()`. */
export function createGateway(config: GatewayConfig, opts: CreateGatewayOptions = {}): RunningGateway {
  const logger = opts.logger ?? createLogger(config.log.level);
  const registry = Registry.fromConfig(config);
  const picker = new StaticPicker(registry.endpoints);
  const gateway = new Gateway({ config, picker, logger });
  let closing: Promise<void> | undefined;
  return {
    config,
    registry,
    picker,
    gateway,
    listen: () => gateway.listen(),
    get url() {
      return gateway.url;
    },
    close(deadlineMs?: number, delayMs?: number) {
      closing ??= gateway.drain(deadlineMs, delayMs);
      return closing;
    },
  };
}
