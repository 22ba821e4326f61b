/**
 * What a config reload changes: endpoints compared by id (added, removed, changed, unchanged), and the
 * paths of every other setting whose value differs. Pure: no file is read and nothing is applied here.
 */
import type { EndpointConfig, GatewayConfig, RegionConfig } from '../config/schema.js';

/** One endpoint entry of a config, with what identifies it and what a connection to it depends on. */
export interface EndpointEntry {
  readonly id: string;
  readonly region: RegionConfig;
  readonly config: EndpointConfig;
  /** Index within its region (ids default to `region-index`). */
  readonly index: number;
  /** Config path, for errors: `regions[1].endpoints[0]`. */
  readonly key: string;
  /**
   * Everything that shapes the endpoint object: its own settings and its region's name, provider and
   * priority. Equal fingerprints keep the endpoint (and its health); TLS files are re-read either way.
   */
  readonly fingerprint: string;
}

export interface EndpointDiff {
  /** Entries of the new config, in order. */
  readonly next: readonly EndpointEntry[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Same id, different settings: replaced (a remove and an add). */
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
}

/** Every endpoint of `config` with its id and fingerprint. */
export function endpointEntries(config: Pick<GatewayConfig, 'regions'>): EndpointEntry[] {
  return config.regions.flatMap((region, ri) =>
    region.endpoints.map((cfg, i) => ({
      id: cfg.id ?? `${region.name}-${i}`,
      region,
      config: cfg,
      index: i,
      key: `regions[${ri}].endpoints[${i}]`,
      fingerprint: JSON.stringify([region.name, region.provider, region.priority, cfg]),
    })),
  );
}

/** Compare the endpoints of two configs by id. */
export function diffEndpoints(before: Pick<GatewayConfig, 'regions'>, after: Pick<GatewayConfig, 'regions'>): EndpointDiff {
  const old = new Map(endpointEntries(before).map((e) => [e.id, e]));
  const next = endpointEntries(after);
  const nextIds = new Set(next.map((e) => e.id));
  const added: string[] = [];
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const e of next) {
    const was = old.get(e.id);
    if (was === undefined) added.push(e.id);
    else (was.fingerprint === e.fingerprint ? unchanged : changed).push(e.id);
  }
  const removed = [...old.keys()].filter((id) => !nextIds.has(id));
  return { next, added, removed, changed, unchanged };
}

/**
 * Paths of the settings outside `regions` whose values differ (`retry.attempts`, `listen.port`), down to
 * the leaves; arrays compare whole (`retry.statuses`).
 */
export function changedSettings(before: GatewayConfig, after: GatewayConfig): string[] {
  const out: string[] = [];
  walk(before, after, '', out);
  return out.filter((p) => p !== 'regions' && !p.startsWith('regions.') && !p.startsWith('regions['));
}

function walk(a: unknown, b: unknown, path: string, out: string[]): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
