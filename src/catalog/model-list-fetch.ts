/**
 * Fetch an endpoint's own model list (`GET <url>/v1/models`, OpenAI's `{"data":[{"id":…}]}`) through
 * `EndpointGetter` (its TLS settings, headers and credentials; the body capped at `maxBytes`).
 */
import type { Endpoint } from '../registry/endpoint.js';
import { EndpointGetter } from '../transport/endpoint-get.js';
import type { TlsFailureFn } from '../transport/tls-connect.js';

/** Resolves with the model ids an endpoint lists; rejects on a transport error, a non-200, a body over the cap, or a malformed list. */
export type ModelListFetch = (endpoint: Endpoint, signal: AbortSignal) => Promise<string[]>;

export interface ModelListFetcher {
  readonly fetch: ModelListFetch;
  /** Close the agent and its sockets. */
  close(): Promise<void>;
  /** Let go of what is held for `endpoint` (removed by a config reload). */
  forget(endpoint: Endpoint): void;
}

/** Longest model id taken from a list; longer ones are ignored. */
const MAX_ID_LENGTH = 512;
const USER_AGENT = 'regiongate-models/1';

export function createModelListFetcher(opts: { readonly maxBytes: number; readonly connectTimeout: number; readonly onTlsFailure?: TlsFailureFn }): ModelListFetcher {
  const getter = new EndpointGetter({ userAgent: USER_AGENT, ...opts });
  return {
    fetch: async (endpoint, signal) => parseModelList(await getter.get(endpoint, '/v1/models', 'application/json', signal)),
    close: () => getter.close(),
    forget: (endpoint) => getter.forget(endpoint),
  };
}

/** The ids of an OpenAI model list; throws when the text is not one. */
export function parseModelList(text: string): string[] {
  const doc: unknown = JSON.parse(text);
  const data = typeof doc === 'object' && doc !== null ? (doc as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) throw new Error('model list has no "data" array');
  const ids: string[] = [];
  for (const item of data) {
    const id = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined;
    if (typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH) ids.push(id);
  }
  return ids;
}
