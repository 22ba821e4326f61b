/**
 * Chooses the store from config: `state.store: memory` (default; one gateway) or `redis` (a fleet), with
 * its timings from the same config (`state.refreshInterval`, `state.redis.*`); `tuning` overrides them.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { FleetEvent } from './fleet-event.js';
import { MemoryStore, type MemoryBus } from './memory-store.js';
import { RedisStore, type RedisStoreOptions } from './redis-store.js';
import type { StateStore } from './state-store.js';

export type StateConfig = GatewayConfig['state'];

/** Timings of a store, as `RedisStoreOptions` names them (`refreshIntervalMs` applies to both). */
export type StateTuning = Pick<
  RedisStoreOptions,
  'refreshIntervalMs' | 'connectTimeoutMs' | 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'startTimeoutMs' | 'maxInFlight' | 'maxReconnectDelayMs'
>;

export interface StateStoreDeps {
  readonly gatewayId: string;
  readonly clock: Clock;
  readonly random: Random;
  /** This gateway's active events (see `StateStoreOptions.localEvents`). */
  readonly localEvents: () => readonly FleetEvent[];
  /** For `memory`: share a bus between in-process gateways (tests, the demo). */
  readonly bus?: MemoryBus;
  /** Overrides of the configured timings (tests). */
  readonly tuning?: Partial<StateTuning>;
  /** Where a Redis store logs its connection transitions. */
  readonly logger?: Logger;
}

/** A new, not yet started store for `cfg` (`state` of the gateway config). */
export function createStateStore(cfg: StateConfig, deps: StateStoreDeps): StateStore {
  const r = cfg.redis;
  const t: StateTuning = {
    refreshIntervalMs: cfg.refreshInterval,
    connectTimeoutMs: r.connectTimeout,
    heartbeatIntervalMs: r.heartbeatInterval,
    heartbeatTimeoutMs: r.heartbeatTimeout,
    startTimeoutMs: r.startTimeout,
    maxInFlight: r.maxInFlight,
    maxReconnectDelayMs: r.maxReconnectDelay,
    ...deps.tuning,
  };
  const base = {
    gatewayId: deps.gatewayId,
    clock: deps.clock,
    localEvents: deps.localEvents,
    ...(cfg.secret !== undefined && { secret: cfg.secret }),
    refreshIntervalMs: t.refreshIntervalMs,
  };
  if (cfg.store === 'memory') return new MemoryStore({ ...base, ...(deps.bus && { bus: deps.bus }) });
  return new RedisStore({
    ...base,
    ...t,
    random: deps.random,
    ...(deps.logger && { logger: deps.logger }),
    redis: {
      url: r.url,
      keyPrefix: r.keyPrefix,
      commandTimeout: r.commandTimeout,
      ...(r.sentinels && { sentinels: r.sentinels }),
      ...(r.sentinelName !== undefined && { sentinelName: r.sentinelName }),
      ...(r.sentinelPassword !== undefined && { sentinelPassword: r.sentinelPassword }),
      ...(r.cluster && { cluster: r.cluster }),
    },
  });
}
