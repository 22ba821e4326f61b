/**
 * Which live gateway scrapes which endpoint: rendezvous (highest-random-weight) hashing of
 * (gatewayId, endpointId) over the gateways the store currently knows as live. Every gateway that sees
 * the same live set computes the same owner with no coordination, and when a gateway joins or leaves
 * only the endpoints it owned (or now wins) move: about M/N of them, not a reshuffle.
 * The weights are cached per live set, so the cost (M × N hashes) is paid when membership changes,
 * not at every exchange.
 */
import { createHash } from 'node:crypto';

/** The rendezvous weight of `gatewayId` for `endpointId` (higher wins). */
export function rendezvousWeight(gatewayId: string, endpointId: string): bigint {
  // SHA-256 rather than a fast non-cryptographic hash: the set of gateway ids is chosen by operators and
  // names like gw-1..gw-50 must still spread evenly; the cost is paid only on membership changes.
  return createHash('sha256').update(gatewayId).update('\0').update(endpointId).digest().readBigUInt64BE(0);
}

/** The gateways of `live` in rendezvous order for `endpointId`: the owner first, then who takes over. */
export function rendezvousRanking(endpointId: string, live: readonly string[]): string[] {
  return live
    .map((g) => ({ g, w: rendezvousWeight(g, endpointId) }))
    .sort((a, b) => (a.w === b.w ? (a.g < b.g ? -1 : a.g > b.g ? 1 : 0) : a.w > b.w ? -1 : 1))
    .map((x) => x.g);
}

export class ScrapeOwners {
  #endpointIds: readonly string[];
  #key: string | undefined;
  #owners = new Map<string, string>();
  #live: readonly string[] = [];

  constructor(endpointIds: readonly string[]) {
    this.#endpointIds = endpointIds;
  }

  /** A config reload changed the endpoints: rank the new set over the same live gateways. */
  setEndpoints(endpointIds: readonly string[]): void {
    this.#endpointIds = endpointIds;
    const live = this.#live;
    this.#key = undefined;
    this.setLive(live);
  }

  /** Set the live gateways (any order, duplicates ignored). Returns the endpoints whose owner changed. */
  setLive(gatewayIds: Iterable<string>): string[] {
    const live = [...new Set(gatewayIds)].sort();
    const key = live.join('\n');
    if (key === this.#key) return [];
    this.#key = key;
    this.#live = live;
    const owners = new Map<string, string>();
    for (const e of this.#endpointIds) {
      const first = rendezvousRanking(e, live)[0];
      if (first !== undefined) owners.set(e, first);
    }
    const moved = this.#endpointIds.filter((e) => owners.get(e) !== this.#owners.get(e));
    this.#owners = owners;
    return moved;
  }

  /** The owner of `endpointId`, or undefined when no live set is known yet. */
  owner(endpointId: string): string | undefined {
    return this.#owners.get(endpointId);
  }

  /** The live gateways, sorted. */
  get live(): readonly string[] {
    return this.#live;
  }
}
