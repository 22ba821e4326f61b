/**
 * The message gateways exchange about endpoints: a `FleetEvent`, its validation and the record it
 * belongs to. Two kinds: *reports* (ejections, whatever their cause — an open breaker is an `ejected`
 * with cause `breaker_open` — rate limits, recoveries), which one gateway
 * asserts about what it sees, and operator *intents* (drains, undrains, drills, faults, unejects), which are the fleet's
 * and live in the store on their own (see `intent-book.ts`). Bytes from Redis or another gateway are
 * decoded by `fleet-wire.ts` (signed, with a relative lifetime), then validated by `toFleetEvent`.
 */
import type { Clock } from '../util/clock.js';

export const FLEET_EVENT_TYPES = [
  'ejected',
  'recovered',
  'rate_limited',
  'drained',
  'undrained',
  'drill',
  'fault',
  'unejected',
] as const;

export type FleetEventType = (typeof FLEET_EVENT_TYPES)[number];

/** One health transition or operator action, as published to the fleet. */
export interface FleetEvent {
  readonly v: 2;
  readonly type: FleetEventType;
  /** The gateway that observed or received it. */
  readonly gatewayId: string;
  readonly endpointId: string;
  /** Why (e.g. `consecutive_5xx`, `connect_refused`, `operator`). */
  readonly cause: string;
  /** When it happened, epoch milliseconds of the publishing gateway. */
  readonly at: number;
  /**
   * Epoch ms, on the clock of the process holding it, after which it is forgotten unless renewed;
   * `Infinity` for an intent with no end (a drain until undrained). Never sent as such: the wire
   * carries a relative lifetime, turned into a local expiry on receipt.
   */
  readonly expiresAt: number;
  /** Per-gateway sequence number: orders events of one gateway that share `at`. */
  readonly seq: number;
}

/**
 * The record an event sets or clears. A gateway holds at most one event per (endpoint, class): a later
 * `recovered` replaces its `ejected`, a later `undrained` its `drained`.
 */
export type EventClass = 'ejection' | 'rate' | 'drain' | 'drill' | 'fault' | 'uneject';

const CLASS_OF: Readonly<Record<FleetEventType, EventClass>> = {
  ejected: 'ejection',
  recovered: 'ejection',
  rate_limited: 'rate',
  drained: 'drain',
  undrained: 'drain',
  drill: 'drill',
  fault: 'fault',
  unejected: 'uneject',
};

const TYPES: ReadonlySet<string> = new Set(FLEET_EVENT_TYPES);

/** Longest accepted message; anything bigger is malformed (and cheap to refuse). */
export const MAX_EVENT_BYTES = 2048;
export const MAX_ID = 128;
export const MAX_CAUSE = 256;

/**
 * Operator intents: the fleet's, stored once per (endpoint, class), applied by every gateway. A `fault`
 * (a drill's injected fault, `src/fault/`) carries its spec in `cause`. An `unejected` marker is an
 * operator's uneject: every gateway ends its own ejection of the endpoint, and ejection reports made
 * before it are ignored.
 */
const INTENT_TYPES: ReadonlySet<FleetEventType> = new Set<FleetEventType>(['drained', 'undrained', 'drill', 'fault', 'unejected']);

/** The intent class of an intent event: one record per (endpoint, class) in the store. */
export function intentClass(event: Pick<FleetEvent, 'type'>): EventClass {
  return CLASS_OF[event.type];
}

export function isIntent(event: Pick<FleetEvent, 'type'>): boolean {
  return INTENT_TYPES.has(event.type);
}

/** The record key of an event: one per (endpoint, gateway, class); also the snapshot hash field. */
export function recordKey(event: Pick<FleetEvent, 'endpointId' | 'gatewayId' | 'type'>): string {
  return JSON.stringify([event.endpointId, event.gatewayId, CLASS_OF[event.type]]);
}

/** Whether `a` is at least as recent as `b` (same gateway: ordered by `at`, then `seq`). */
export function isAtLeastAsRecent(a: FleetEvent, b: FleetEvent): boolean {
  return a.at > b.at || (a.at === b.at && a.seq >= b.seq);
}

const isId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= MAX_ID;
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const isExpiry = (x: unknown): x is number => typeof x === 'number' && !Number.isNaN(x) && x >= 0;

/** Validate a decoded value; returns a fresh object with only the known keys, or undefined. */
export function toFleetEvent(value: unknown): FleetEvent | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (o.v !== 2 || typeof o.type !== 'string' || !TYPES.has(o.type)) return undefined;
  if (!isId(o.gatewayId) || !isId(o.endpointId)) return undefined;
  if (typeof o.cause !== 'string' || o.cause.length > MAX_CAUSE) return undefined;
  if (!isTime(o.at) || !isExpiry(o.expiresAt)) return undefined;
  if (o.expiresAt === Number.POSITIVE_INFINITY && o.type !== 'drained') return undefined;
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 0) return undefined;
  return {
    v: 2,
    type: o.type as FleetEventType,
    gatewayId: o.gatewayId,
    endpointId: o.endpointId,
    cause: o.cause,
    at: o.at,
    expiresAt: o.expiresAt,
    seq: o.seq,
  };
}

/** Builds this gateway's events with its id, the clock's time and a growing sequence number. */
export class FleetEventSource {
  readonly gatewayId: string;
  readonly #clock: Clock;
  #seq = 0;

  constructor(gatewayId: string, clock: Clock) {
    this.gatewayId = gatewayId;
    this.#clock = clock;
  }

  /** A new event that peers forget `ttlMs` from now unless it is renewed (`Infinity`: a drain with no end). */
  create(type: FleetEventType, endpointId: string, cause: string, ttlMs: number): FleetEvent {
    const at = this.#clock.now();
    return { v: 2, type, gatewayId: this.gatewayId, endpointId, cause, at, expiresAt: at + ttlMs, seq: ++this.#seq };
  }
}
