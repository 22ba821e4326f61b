/**
 * The fleet snapshot: one hash, field = `recordKey(event)` (endpoint, gateway, class), value = the
 * event's JSON with its `expiresAt` inside. Redis 7.0 has no per-field expiry (HEXPIRE is 7.4), so each
 * refresh prunes: in one atomic step a gateway writes its active events, deletes expired or
 * unreadable fields and its own fields it no longer asserts, and reads back the rest. `REFRESH_SCRIPT`
 * does it in Redis; `refreshSnapshot` does the same for `MemoryBus`. Keep the two in step.
 */
import { recordKey, type FleetEvent } from './fleet-event.js';

/** The refresh as `[field, value]` pairs to write. */
export function snapshotEntries(events: readonly FleetEvent[]): [string, string][] {
  return events.map((e) => [recordKey(e), JSON.stringify(e)]);
}

/**
 * KEYS[1] = snapshot hash; ARGV = now (epoch ms), own gatewayId, key TTL (ms), then field/value pairs.
 * Returns the values left after pruning, own ones included.
 */
export const REFRESH_SCRIPT = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local gw = ARGV[2]
local ttl = tonumber(ARGV[3])
local mine = {}
for i = 4, #ARGV, 2 do
  redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  mine[ARGV[i]] = true
end
local all = redis.call('HGETALL', key)
local out = {}
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  local ok, e = pcall(cjson.decode, value)
  local keep = ok and type(e) == 'table' and type(e.expiresAt) == 'number' and e.expiresAt > now
  if keep and e.gatewayId == gw and not mine[field] then keep = false end
  if keep then out[#out + 1] = value else redis.call('HDEL', key, field) end
end
if #out > 0 then redis.call('PEXPIRE', key, ttl) end
return out
`;

/** The arguments of `REFRESH_SCRIPT` after the key. */
export function refreshArgs(events: readonly FleetEvent[], now: number, gatewayId: string, keyTtlMs: number): string[] {
  const args = [String(now), gatewayId, String(keyTtlMs)];
  for (const [field, value] of snapshotEntries(events)) args.push(field, value);
  return args;
}

function keepEntry(value: string, now: number): { gatewayId: unknown } | undefined {
  try {
    const e: unknown = JSON.parse(value);
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return undefined;
    const o = e as Record<string, unknown>;
    return typeof o.expiresAt === 'number' && o.expiresAt > now ? { gatewayId: o.gatewayId } : undefined;
  } catch {
    return undefined;
  }
}

/** `REFRESH_SCRIPT` on an in-memory hash (mutated in place); returns the remaining values. */
export function refreshSnapshot(
  hash: Map<string, string>,
  events: readonly FleetEvent[],
  now: number,
  gatewayId: string,
): string[] {
  const mine = new Set<string>();
  for (const [field, value] of snapshotEntries(events)) {
    hash.set(field, value);
    mine.add(field);
  }
  const out: string[] = [];
  for (const [field, value] of hash) {
    const kept = keepEntry(value, now);
    if (kept && !(kept.gatewayId === gatewayId && !mine.has(field))) out.push(value);
    else hash.delete(field);
  }
  return out;
}
