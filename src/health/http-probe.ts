/**
 * The real probe: an HTTP GET to `endpoint.origin + endpoint.basePath + path` through one small undici
 * `Agent` shared by every http endpoint, and a small `Pool` per https endpoint carrying its TLS settings
 * (at most two connections per origin, kept alive between probes). The endpoint's configured headers go
 * along (they often carry the upstream's credentials). The caller owns the timeout and aborts through `signal`; the response body is discarded.
 */
import { request } from 'undici';
import type { Endpoint } from '../registry/endpoint.js';
import { EndpointDispatchers, type TlsFailureFn } from '../transport/tls-connect.js';

/** Probes one endpoint; resolves with the HTTP status, rejects on a transport error or abort. */
export type ProbeFn = (endpoint: Endpoint, signal: AbortSignal) => Promise<number>;

export interface HttpProbe {
  readonly probe: ProbeFn;
  /** Close the agent and its sockets. */
  close(): Promise<void>;
  /** Let go of what is held for `endpoint` (removed by a config reload). */
  forget?(endpoint: Endpoint): void;
}

export interface HttpProbeOptions {
  /** Probed path (starts with "/"). */
  readonly path: string;
  /** TCP/TLS connect timeout (the tracker passes `health.timeout`); the prober's own timeout usually fires first. */
  readonly connectTimeout: number;
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
    { timeout: options.connectTimeout },
    options.onTlsFailure,
  );
  const headersByEndpoint = new WeakMap<Endpoint, Record<string, string>>();

  function headersFor(endpoint: Endpoint): Record<string, string> {
    let h = headersByEndpoint.get(endpoint);
    if (!h) {
      h = { 'user-agent': USER_AGENT, ...Object.fromEntries(endpoint.headers) };
      headersByEndpoint.set(endpoint, h);
    }
    // A refreshed credential changes: read it per probe (absent while none is held).
    const cred = endpoint.credential;
    return cred?.value === undefined || cred.signer !== undefined ? h : { ...h, [cred.header]: cred.value };
  }

  async function httpProbe(endpoint: Endpoint, signal: AbortSignal): Promise<number> {
    const path = endpoint.basePath + options.path;
    const signer = endpoint.credential?.signer;
    // A SigV4 endpoint gets a signed probe (a failed signing is a failed probe: no keys are held).
    const signed = signer === undefined ? undefined : await signer.sign({ method: 'GET', origin: endpoint.origin, path, body: null });
    const res = await request(endpoint.origin + path, {
      method: 'GET',
      dispatcher: dispatchers.for(endpoint),
      headers: signed === undefined ? headersFor(endpoint) : { ...headersFor(endpoint), ...Object.fromEntries(signed) },
      signal,
    });
    await res.body.dump({ limit: 64 * 1024, signal });
    return res.statusCode;
  }

  return {
    probe: httpProbe,
    close: () => dispatchers.close(),
    forget: (endpoint) => dispatchers.forget(endpoint),
  };
}
