/**
 * Shared fleet state: the `StateStore` contract with its memory and Redis implementations, the fleet
 * event format, and the trust rules (`FleetView`, `EgressGuard`) that apply other gateways' reports.
 */
export {
  FLEET_EVENT_TYPES,
  FleetEventSource,
  eventClass,
  isAtLeastAsRecent,
  isIntent,
  recordKey,
  toFleetEvent,
  type EventClass,
  type FleetEvent,
  type FleetEventType,
} from './fleet-event.js';
export {
  DEFAULT_REFRESH_INTERVAL_MS,
  type EventListener,
  type SnapshotListener,
  type StateStore,
  type StateStoreOptions,
  type StateStoreStatus,
  type StoreKind,
} from './state-store.js';
export { FleetSigner, MIN_SECRET_LENGTH } from './fleet-signer.js';
export { FleetCodec, type Decoded } from './fleet-wire.js';
export { IntentBook, type IntentSummary } from './intent-book.js';
export { MemoryBus, MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { RedisStore, type RedisStoreOptions } from './redis-store.js';
export { reconnectDelay, type RedisConnectionConfig, type RedisHostPort } from './redis-clients.js';
export { createStateStore, type StateConfig, type StateStoreDeps, type StateTuning } from './create-store.js';
export {
  DEFAULT_MAX_EJECT_SHARE,
  DEFAULT_MAX_REMOTE_TTL_MS,
  FleetView,
  type FleetViewListener,
  type FleetViewOptions,
} from './fleet-view.js';
export { effectiveStates, type RemoteEndpointState, type RemoteRecord } from './trust-rules.js';
export { DEFAULT_EGRESS_THRESHOLD, EgressGuard, shouldPublishEjection, type EgressGuardOptions } from './egress-guard.js';
