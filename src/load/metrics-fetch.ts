/**
 * Fetch an endpoint's load metrics page (`GET <url><loadSignals.path>`) through `EndpointGetter` (its TLS
 * settings, headers and credentials; the body capped at `maxBytes`); the caller owns the timeout.
 */
import { EndpointGetter } from '../transport/endpoint-get.js';
import type { TlsFailureFn } from '../transport/tls-connect.js';
import type { Endpoint } from '../registry/endpoint.js';

/** Resolves with the exposition text; rejects on a transport error, a non-200, or a body over the cap. */
export type MetricsFetch = (endpoint: Endpoint, path: string, signal: AbortSignal) => Promise<string>;

export interface MetricsFetcher {
  readonly fetch: MetricsFetch;
  close(): Promise<void>;
  /** Let go of what is held for `endpoint` (removed by a config reload). */
  forget(endpoint: Endpoint): void;
}

const USER_AGENT = 'regiongate-load/1';

export function createMetricsFetcher(opts: { readonly maxBytes: number; readonly connectTimeout: number; readonly onTlsFailure?: TlsFailureFn }): MetricsFetcher {
  // Through the endpoint's TLS settings and credentials, as requests go: a private-CA or token-protected
  // model server's /metrics is reachable too.
  const getter = new EndpointGetter({ userAgent: USER_AGENT, ...opts });
  return { fetch: (endpoint, path, signal) => getter.get(endpoint, path, 'text/plain', signal), close: () => getter.close(), forget: (endpoint) => getter.forget(endpoint) };
}
