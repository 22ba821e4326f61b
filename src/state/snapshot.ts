/**
 * The fleet snapshot: one hash holding two kinds of entries, each value `"<deadline> <message>"`:
 * - reports, field `recordKey(event)` = JSON `[endpoint, gateway, class]`, rewritten by their gateway at
 *   every refresh; a gateway's fields it no longer asserts are deleted then;
 * - operator intents, field `intentKey(event)` = JSON `[endpoint, class]`, written once by the gateway an
 *   operator used and kept until they end or are replaced (an undrain replaces a drain with a
 *   short-lived marker), whichever gateways come and go.
 * `deadline` is the store's own clock (Redis `TIME`) at the write plus the message's lifetime, 0 for no
 * end: entries are pruned by the server's clock, never by the clock of whichever gateway runs the
 * script, and a reader gets the lifetime left (`-1`: no end), never an absolute time. Redis 7.0 has no
 * per-field expiry (HEXPIRE is 7.4), so each refresh prunes, in one atomic step. The Lua scripts do it
 * in Redis; `putEntry` and `refreshSnapshot` do the same for `MemoryBus`. Keep them in step.
 */
import { intentClass, isIntent, recordKey, type FleetEvent } from './fleet-event.js';

/** Most entries one refresh returns: a flooded hash cannot grow a gateway's memory without bound. */
export const MAX_SNAPSHOT_ENTRIES = 4096;

/** The field of an intent: one per (endpoint, class), whoever made it. */
export function intentKey(event: Pick<FleetEvent, 'endpointId' | 'type'>): string {
  return JSON.stringify([event.endpointId, intentClass(event)]);
}

/** The snapshot field of any event. */
export function snapshotField(event: FleetEvent): string {
  return isIntent(event) ? intentKey(event) : recordKey(event);
}

/** One entry read back: its field, the lifetime left by the store's clock (-1: no end), the message. */
export interface SnapshotEntry {
  readonly field: string;
  readonly left: number;
  readonly raw: string;
}

const NOW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] = snapshot hash; ARGV = field, ttl (ms, 0: no end), message. */
export const PUT_SCRIPT = `
${NOW_LUA}
local ttl = tonumber(ARGV[2])
local deadline = 0
if ttl > 0 then deadline = now + ttl end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', deadline) .. ' ' .. ARGV[3])
return 1
`;

/**
 * KEYS[1] = snapshot hash; ARGV = own gatewayId, most entries to return, then (field, ttl, message)
 * triplets of the own reports to write. Returns (field, left, message) triplets.
 */
export const REFRESH_SCRIPT = `
${NOW_LUA}
local key = KEYS[1]
local gw = ARGV[1]
local max = tonumber(ARGV[2]) * 3
local mine = {}
for i = 3, #ARGV, 3 do
  local ttl = tonumber(ARGV[i + 1])
  local deadline = 0
  if ttl > 0 then deadline = now + ttl end
  redis.call('HSET', key, ARGV[i], string.format('%d', deadline) .. ' ' .. ARGV[i + 2])
  mine[ARGV[i]] = true
end
local all = redis.call('HGETALL', key)
local out = {}
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  local sp = string.find(value, ' ', 1, true)
  local deadline = sp and tonumber(string.sub(value, 1, sp - 1))
  local keep = deadline ~= nil and (deadline == 0 or deadline > now)
  if keep and not mine[field] then
    local ok, f = pcall(cjson.decode, field)
    if ok and type(f) == 'table' and #f == 3 and f[2] == gw then keep = false end
  end
  if not keep then
    redis.call('HDEL', key, field)
  elseif #out < max then
    local left = -1
    if deadline > 0 then left = deadline - now end
    out[#out + 1] = field
    out[#out + 1] = left
    out[#out + 1] = string.sub(value, sp + 1)
  end
end
return out
`;

/** The arguments of `REFRESH_SCRIPT` after the key; `encode` gives each event's message and lifetime. */
export function refreshArgs(events: readonly FleetEvent[], gatewayId: string, encode: (e: FleetEvent) => { raw: string; ttl: number }): string[] {
  const args = [gatewayId, String(MAX_SNAPSHOT_ENTRIES)];
  for (const e of events) {
    const { raw, ttl } = encode(e);
    args.push(recordKey(e), String(ttl), raw);
  }
  return args;
}

/** `REFRESH_SCRIPT`'s reply as entries; undefined when it is not the expected shape. */
export function toEntries(reply: unknown): SnapshotEntry[] | undefined {
  if (!Array.isArray(reply) || reply.length % 3 !== 0) return undefined;
  const out: SnapshotEntry[] = [];
  for (let i = 0; i < reply.length; i += 3) {
    const [field, left, raw] = [reply[i], reply[i + 1], reply[i + 2]];
    if (typeof field !== 'string' || typeof left !== 'number' || typeof raw !== 'string') return undefined;
    out.push({ field, left, raw });
  }
  return out;
}

function deadlineOf(value: string): number | undefined {
  const sp = value.indexOf(' ');
  const d = sp > 0 ? Number(value.slice(0, sp)) : Number.NaN;
  return Number.isFinite(d) ? d : undefined;
}

function ownReport(field: string, gatewayId: string): boolean {
  try {
    const f: unknown = JSON.parse(field);
    return Array.isArray(f) && f.length === 3 && f[1] === gatewayId;
  } catch {
    return false;
  }
}

/** The value `PUT_SCRIPT` stores for a message with lifetime `ttl` (0: no end) written at `now`. */
export function storedValue(ttl: number, raw: string, now: number): string {
  return `${ttl > 0 ? now + ttl : 0} ${raw}`;
}

/** The message part of a stored value. */
export function messageOf(value: string): string {
  return value.slice(value.indexOf(' ') + 1);
}

/** `REFRESH_SCRIPT` on an in-memory hash (mutated in place). */
export function refreshSnapshot(
  hash: Map<string, string>,
  own: readonly (readonly [field: string, ttl: number, raw: string])[],
  now: number,
  gatewayId: string,
): SnapshotEntry[] {
  const mine = new Set<string>();
  for (const [field, ttl, raw] of own) {
    hash.set(field, storedValue(ttl, raw, now));
    mine.add(field);
  }
  const out: SnapshotEntry[] = [];
  for (const [field, value] of hash) {
    const deadline = deadlineOf(value);
    const keep = deadline !== undefined && (deadline === 0 || deadline > now) && (mine.has(field) || !ownReport(field, gatewayId));
    if (!keep) hash.delete(field);
    else if (out.length < MAX_SNAPSHOT_ENTRIES)
      out.push({ field, left: deadline === 0 ? -1 : deadline - now, raw: messageOf(value) });
  }
  return out;
}
