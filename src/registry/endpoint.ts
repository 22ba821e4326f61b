/**
 * An endpoint: one regional model server the gateway can forward to, built once from config. Parsed
 * parts (origin, base path, header pairs, model set) are precomputed so the request path does no work.
 */
import type { CredentialsConfig, EndpointConfig, RegionConfig } from '../config/schema.js';
import { loadEndpointTls, type EndpointTls } from './endpoint-tls.js';

/**
 * What an endpoint configured with `"*"` last reported it serves (its own `GET /v1/models`, learned off
 * the request path by `catalog/model-discovery.ts`). The one mutable part of an endpoint: the picker
 * reads it on every pick, so it lives on the endpoint instead of in a map.
 */
export interface ReportedModels {
  /** The ids of the last good report, or undefined while none is known (then the endpoint may serve any). */
  models: ReadonlySet<string> | undefined;
}

export interface Endpoint {
  /** Stable id, safe to show to clients (`x-regiongate-endpoint`); never the URL, which may hold secrets. */
  readonly id: string;
  readonly region: string;
  readonly provider: string;
  /** Lower is preferred. */
  readonly priority: number;
  readonly weight: number;
  /** `scheme://host:port`, the key of the endpoint's connection pool. */
  readonly origin: string;
  /** The URL's path without a trailing slash ('' for '/'), prefixed to every forwarded path. */
  readonly basePath: string;
  /** Served models, as clients name them; `undefined` means any (`"*"`). */
  readonly models: ReadonlySet<string> | undefined;
  /** Client id to the endpoint's own id, for the models it names differently (`models` as a map); else absent. */
  readonly upstreamIds?: ReadonlyMap<string, string>;
  /** For a `"*"` endpoint, what it reports serving (absent on hand-built endpoints: any model). */
  readonly reported?: ReportedModels;
  /** Extra headers sent upstream, names lower-cased. */
  readonly headers: readonly (readonly [string, string])[];
  readonly connections: number;
  /** TLS settings of an https endpoint with `tls` configured (files already read); undefined = Node's defaults. */
  readonly tls?: EndpointTls;
  /** A refreshed credential header (`credentials` in config), absent when none is configured. */
  readonly credential?: CredentialSlot;
  /** Where and how the endpoint's load metrics are scraped (`load/`); absent = latency-only scoring. */
  readonly loadSignals?: EndpointConfig['loadSignals'];
}

/**
 * The current value of an endpoint's refreshed credential header. The credential manager writes it off
 * the request path; the exchange reads it synchronously per attempt. `value` is undefined while no
 * usable token is held (none read yet, or the last one expired): the endpoint is then not sent to.
 */
export interface CredentialSlot {
  /** Lower-cased header name. */
  readonly header: string;
  value: string | undefined;
  /** AWS SigV4: each attempt is signed (set by the credential manager); `value` then holds the keys, never sent. */
  signer?: RequestSigner;
}

/** Signs one upstream request; resolves with the headers to add. */
export interface RequestSigner {
  sign(req: { readonly method: string; readonly origin: string; readonly path: string; readonly body: Buffer | null }): Promise<readonly (readonly [string, string])[]>;
}

/**
 * Build an endpoint from its config entry; `index` is its position within the region, `key` its config
 * path for errors. Reads the `tls` files: throws `ConfigError` when one is missing or invalid.
 */
export function createEndpoint(region: RegionConfig, cfg: EndpointConfig, index: number, key = `regions[${region.name}].endpoints[${index}]`): Endpoint {
  const url = new URL(cfg.url);
  const basePath = url.pathname.replace(/\/+$/, '');
  const tls: TlsSlot = { current: cfg.tls === undefined ? undefined : loadEndpointTls(cfg.tls, `${key}.tls`) };
  const endpoint: Endpoint = Object.freeze({
    id: cfg.id ?? `${region.name}-${index}`,
    region: region.name,
    provider: region.provider,
    priority: region.priority,
    weight: cfg.weight,
    origin: url.origin,
    basePath,
    ...servedModels(cfg.models),
    reported: { models: undefined },
    headers: Object.freeze(Object.entries(cfg.headers).map(([k, v]) => Object.freeze([k.toLowerCase(), v] as const))),
    connections: cfg.connections,
    // A getter over a slot: a reload swaps re-read certificate files in (`swapEndpointTls`) and every new
    // connection reads the endpoint's current material, while connections in use keep theirs.
    get tls() {
      return tls.current;
    },
    credential: cfg.credentials === undefined ? undefined : { header: credentialHeader(cfg.credentials), value: undefined },
    loadSignals: cfg.loadSignals === undefined ? undefined : Object.freeze({ ...cfg.loadSignals }),
  });
  tlsSlots.set(endpoint, tls);
  return endpoint;
}

interface TlsSlot {
  current: EndpointTls | undefined;
}

const tlsSlots = new WeakMap<Endpoint, TlsSlot>();

/**
 * Give `endpoint` re-read TLS material (a config reload whose endpoint settings did not change but whose
 * certificate files may have). New connections use it; connections in use keep the context they have.
 * False for an endpoint not built by `createEndpoint`.
 */
export function swapEndpointTls(endpoint: Endpoint, tls: EndpointTls | undefined): boolean {
  const slot = tlsSlots.get(endpoint);
  if (slot === undefined) return false;
  slot.current = tls;
  return true;
}

function credentialHeader(c: CredentialsConfig): string {
  return ('file' in c ? c.file.header : 'command' in c ? c.command.header : 'authorization').toLowerCase();
}

/** The served set and renames of a `models` config value: a list of ids, or a map client id → endpoint id. */
function servedModels(models: EndpointConfig['models']): Pick<Endpoint, 'models' | 'upstreamIds'> {
  if (Array.isArray(models)) return { models: models.includes('*') ? undefined : new Set(models) };
  const renamed = Object.entries(models).filter(([client, own]) => client !== own);
  return { models: new Set(Object.keys(models)), ...(renamed.length > 0 ? { upstreamIds: new Map(renamed) } : {}) };
}

/** The id `endpoint` knows `model` by (the client's id unless its `models` map renames it). */
export function upstreamModel(endpoint: Endpoint, model: string): string {
  return endpoint.upstreamIds?.get(model) ?? model;
}

/**
 * Whether `endpoint` serves `model` (requests without a model go anywhere). A `"*"` endpoint serves
 * what it reported, or any model while no report is known.
 */
export function servesModel(endpoint: Endpoint, model: string | undefined): boolean {
  if (model === undefined) return true;
  const models = endpoint.models ?? endpoint.reported?.models;
  return models === undefined || models.has(model);
}

/** The models `endpoint` is known to serve, or undefined when it may serve any (`"*"` without a report). */
export function knownModels(endpoint: Endpoint): ReadonlySet<string> | undefined {
  return endpoint.models ?? endpoint.reported?.models;
}

/** Request headers that carry API credentials to an OpenAI-style upstream (OpenAI, Azure, Anthropic). */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'api-key', 'x-api-key']);

/**
 * Whether the gateway sends its own credentials to `endpoint` (a credential header in its configured
 * `headers`, which replaces the client's header of that name): then a 429 concerns every client.
 */
export function sendsOwnCredentials(endpoint: Endpoint): boolean {
  for (let i = 0; i < endpoint.headers.length; i++) if (CREDENTIAL_HEADERS.has(endpoint.headers[i][0])) return true;
  return endpoint.credential !== undefined && CREDENTIAL_HEADERS.has(endpoint.credential.header);
}
