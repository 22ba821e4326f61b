/**
 * Endpoints for tests that need no socket (health, routing, plans): an `Endpoint` as the registry builds
 * it, with test defaults (region `eu`, priority 0, weight 1, any model, an origin nothing listens on).
 */
import type { Endpoint } from '../../src/registry/endpoint.js';

export interface TestEndpointFields {
  readonly region?: string;
  readonly priority?: number;
  readonly weight?: number;
  /** The models it serves; undefined = any. */
  readonly models?: readonly string[];
  readonly headers?: readonly (readonly [string, string])[];
  readonly origin?: string;
  readonly basePath?: string;
}

/** An endpoint with id `id` and the given fields; the rest are the defaults above. */
export function testEndpoint(id: string, fields: TestEndpointFields = {}): Endpoint {
  return {
    id,
    region: fields.region ?? 'eu',
    provider: 'test',
    priority: fields.priority ?? 0,
    weight: fields.weight ?? 1,
    origin: fields.origin ?? 'http://127.0.0.1:1',
    basePath: fields.basePath ?? '',
    models: fields.models === undefined ? undefined : new Set(fields.models),
    headers: fields.headers ?? [],
    connections: 0,
  };
}
