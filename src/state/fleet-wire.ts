/**
 * Fleet events on the wire. A message is JSON with the event's fields, a relative lifetime `ttl` (ms;
 * 0 only for a drain with no end) in place of an absolute expiry, and `sig`, an HMAC over the canonical
 * encoding of every other field (`fleet-signer.ts`). On receipt the lifetime becomes a local expiry
 * (`now + ttl`, or the store's remaining lifetime when shorter), so a sender's clock is never taken on
 * trust; `FleetView` caps report lifetimes further (`state.trust.maxRemoteTtl`). Every byte from Redis
 * or another gateway comes through `decode`: it never throws and returns only known, bounded fields.
 */
import type { Clock } from '../util/clock.js';
import { MAX_EVENT_BYTES, isIntent, toFleetEvent, type FleetEvent } from './fleet-event.js';
import type { FleetSigner } from './fleet-signer.js';

/** Longest lifetime a report may carry (a drill's longest is also 24 h). */
export const MAX_REPORT_TTL_MS = 24 * 3_600_000;
/** Longest lifetime of a timed drain. */
export const MAX_INTENT_TTL_MS = 31 * 24 * 3_600_000;

/** Why a message was not accepted: unreadable or out of bounds, or not signed with the fleet's secret. */
export type DecodeFailure = 'malformed' | 'rejected';
export type Decoded = { readonly event: FleetEvent } | { readonly failure: DecodeFailure };

/** The lifetime to send for `event` at `now` (ms, at least 1; 0 for a drain with no end). */
export function ttlOf(event: FleetEvent, now: number): number {
  if (event.expiresAt === Number.POSITIVE_INFINITY) return 0;
  return Math.max(1, Math.ceil(event.expiresAt - now));
}

function canonical(o: { type: string; gatewayId: string; endpointId: string; cause: string; at: number; ttl: number; seq: number }): string {
  return JSON.stringify([2, o.type, o.gatewayId, o.endpointId, o.cause, o.at, o.ttl, o.seq]);
}

export class FleetCodec {
  readonly #signer: FleetSigner;
  readonly #clock: Clock;

  constructor(signer: FleetSigner, clock: Clock) {
    this.#signer = signer;
    this.#clock = clock;
  }

  get signed(): boolean {
    return this.#signer.signed;
  }

  /** The message for `event` (its lifetime counted from now) and that lifetime. */
  encode(event: FleetEvent): { readonly raw: string; readonly ttl: number } {
    const ttl = ttlOf(event, this.#clock.now());
    const body = { v: 2, type: event.type, gatewayId: event.gatewayId, endpointId: event.endpointId, cause: event.cause, at: event.at, ttl, seq: event.seq };
    const sig = this.#signer.sign(canonical(body));
    return { raw: JSON.stringify(sig === undefined ? body : { ...body, sig }), ttl };
  }

  /**
   * Decode one message or snapshot entry. `remainingMs` is what the store's own clock says is left of
   * a stored entry (negative: no end); the signed `ttl` bounds it either way.
   */
  decode(raw: unknown, remainingMs?: number): Decoded {
    const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
    if (typeof text !== 'string' || text.length > MAX_EVENT_BYTES) return { failure: 'malformed' };
    let o: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return { failure: 'malformed' };
      o = v as Record<string, unknown>;
    } catch {
      return { failure: 'malformed' };
    }
    const ttl = o.ttl;
    if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 0) return { failure: 'malformed' };
    const now = this.#clock.now();
    const noEnd = ttl === 0;
    let left = noEnd ? Number.POSITIVE_INFINITY : ttl;
    // Only a drain with no end may sit in the store without a deadline; anything else is not ours.
    if (remainingMs !== undefined && remainingMs < 0 && !noEnd) return { failure: 'malformed' };
    if (remainingMs !== undefined && remainingMs >= 0) left = Math.min(left, remainingMs);
    const event = toFleetEvent({ ...o, expiresAt: now + left });
    if (!event) return { failure: 'malformed' };
    if (ttl > (event.type === 'drained' ? MAX_INTENT_TTL_MS : MAX_REPORT_TTL_MS)) return { failure: 'malformed' };
    if (noEnd && !(isIntent(event) && event.type === 'drained')) return { failure: 'malformed' };
    if (!this.#signer.verify(canonical({ ...event, ttl }), o.sig)) return { failure: 'rejected' };
    return { event };
  }
}
