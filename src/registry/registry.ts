/**
 * The registry: every region and endpoint known from config, looked up by id. Immutable; a config
 * reload builds a new one.
 */
import type { GatewayConfig } from '../config/schema.js';
import { createEndpoint, type Endpoint } from './endpoint.js';

export interface Region {
  readonly name: string;
  readonly provider: string;
  readonly priority: number;
  readonly endpoints: readonly Endpoint[];
}

export class Registry {
  readonly regions: readonly Region[];
  readonly endpoints: readonly Endpoint[];
  readonly #byId: ReadonlyMap<string, Endpoint>;

  constructor(regions: readonly Region[]) {
    this.regions = regions;
    this.endpoints = regions.flatMap((r) => r.endpoints);
    this.#byId = new Map(this.endpoints.map((e) => [e.id, e]));
  }

  static fromConfig(cfg: Pick<GatewayConfig, 'regions'>): Registry {
    return new Registry(
      cfg.regions.map((r, ri) => ({
        name: r.name,
        provider: r.provider,
        priority: r.priority,
        endpoints: r.endpoints.map((e, i) => createEndpoint(r, e, i, `regions[${ri}].endpoints[${i}]`)),
      })),
    );
  }

  endpoint(id: string): Endpoint | undefined {
    return this.#byId.get(id);
  }

  region(name: string): Region | undefined {
    return this.regions.find((r) => r.name === name);
  }
}
