/**
 * The real probe: an HTTP GET to `endpoint.origin + endpoint.basePath + path` through one small undici
 * `Agent` shared by every http endpoint, and a small `Pool` per https endpoint carrying its TLS settings
 * (at most two connections per origin, kept alive between probes). The endpoint's configured headers go
 * along (they often carry the upstream's credentials). The caller owns the timeout and aborts through `signal`; the response body is discarded.
 */
import { request } from 'undici';
import type { Endpoint } from '../registry/endpoint.js';
import { EndpointDispatchers, type TlsFailureFn } from '../proxy/tls-connect.js';

/** Probes one endpoint; resolves with the HTTP status, rejects on a transport error or abort. */
export type ProbeFn = (endpoint: Endpoint, signal: AbortSignal) => Promise<number>;

export interface HttpProbe {
  readonly probe: ProbeFn;
  /** Close the agent and its sockets. */
  close(): Promise<void>;
}

export interface HttpProbeOptions {
  /** Probed path (starts with "/"). */
  readonly path: string;
  /** TCP/TLS connect timeout; the prober's own timeout usually fires first. */
  readonly connectTimeout?: number;
  /** Told about TLS failures toward an endpoint (the gateway logs them). */
  readonly onTlsFailure?: TlsFailureFn;
}

const USER_AGENT = 'regiongate-health/1';

/** Create the undici-backed probe function and the agent it owns. */
export function createHttpProbe(options: HttpProbeOptions): HttpProbe {
  // An https endpoint gets a pool of its own with its TLS settings (CA, client certificate, servername),
  // the same connector its requests use, so a probe sees what a request would.
  const dispatchers = new EndpointDispatchers(
    { connections: 2, pipelining: 1, keepAliveTimeout: 10_000 },
    { timeout: options.connectTimeout ?? 2000 },
    options.onTlsFailure,
  );
  const headersByEndpoint = new WeakMap<Endpoint, Record<string, string>>();

  function headersFor(endpoint: Endpoint): Record<string, string> {
    let h = headersByEndpoint.get(endpoint);
    if (!h) {
      h = { 'user-agent': USER_AGENT, ...Object.fromEntries(endpoint.headers) };
      headersByEndpoint.set(endpoint, h);
    }
    return h;
  }

  async function httpProbe(endpoint: Endpoint, signal: AbortSignal): Promise<number> {
    const res = await request(endpoint.origin + endpoint.basePath + options.path, {
      method: 'GET',
      dispatcher: dispatchers.for(endpoint),
      headers: headersFor(endpoint),
      signal,
    });
    await res.body.dump({ limit: 64 * 1024, signal });
    return res.statusCode;
  }

  return {
    probe: httpProbe,
    close: () => dispatchers.close(),
  };
}
