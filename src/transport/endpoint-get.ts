/**
 * A small GET toward an endpoint, off the request path (its model list, its load metrics): with the
 * endpoint's TLS settings (`EndpointDispatchers`), its configured headers, its refreshed credential or
 * SigV4 signature, and a body read up to `maxBytes` and no further. The caller owns the timeout and
 * aborts through `signal`. One place, so every side request reaches an endpoint the way requests do.
 */
import { request } from 'undici';
import type { Endpoint } from '../registry/endpoint.js';
import { EndpointDispatchers, type TlsFailureFn } from './tls-connect.js';

export interface EndpointGetOptions {
  readonly userAgent: string;
  readonly maxBytes: number;
  readonly connectTimeout: number;
  readonly onTlsFailure?: TlsFailureFn;
}

export class EndpointGetter {
  readonly #opts: EndpointGetOptions;
  readonly #dispatchers: EndpointDispatchers;

  constructor(opts: EndpointGetOptions) {
    this.#opts = opts;
    this.#dispatchers = new EndpointDispatchers({ connections: 1, pipelining: 1, keepAliveTimeout: 10_000 }, { timeout: opts.connectTimeout }, opts.onTlsFailure);
  }

  /** The body of `GET <endpoint url><path>` as text; rejects on a transport error, a non-200, or a body over the cap. */
  async get(endpoint: Endpoint, path: string, accept: string, signal: AbortSignal): Promise<string> {
    const full = `${endpoint.basePath}${path}`;
    const signer = endpoint.credential?.signer;
    const signed = signer === undefined ? [] : await signer.sign({ method: 'GET', origin: endpoint.origin, path: full, body: null });
    const res = await request(endpoint.origin + full, {
      method: 'GET',
      dispatcher: this.#dispatchers.for(endpoint),
      headers: { 'user-agent': this.#opts.userAgent, accept, ...Object.fromEntries(endpoint.headers), ...credentialHeader(endpoint), ...Object.fromEntries(signed) },
      signal,
    });
    // `dump` reads a little and then closes quietly; a bare destroy() would raise an unhandled abort.
    if (res.statusCode !== 200) {
      await res.body.dump({ limit: 64 * 1024, signal });
      throw new Error(`GET ${path} answered ${res.statusCode}`);
    }
    const max = this.#opts.maxBytes;
    const declared = Number(res.headers['content-length']);
    if (declared > max) {
      await res.body.dump({ limit: 0, signal });
      throw new Error(`GET ${path}: ${declared} bytes is over the ${max}-byte cap`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      // Leaving the loop by a throw destroys the body (the iterator's return), without an error event.
      if (size > max) throw new Error(`GET ${path}: the answer is over the ${max}-byte cap`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  /** Let go of what is held for `endpoint` (removed by a config reload). */
  forget(endpoint: Endpoint): void {
    this.#dispatchers.forget(endpoint);
  }

  close(): Promise<void> {
    return this.#dispatchers.close();
  }
}

/** The endpoint's refreshed credential as a header, if one is held now (SigV4 endpoints are signed instead). */
function credentialHeader(endpoint: Endpoint): Record<string, string> {
  const cred = endpoint.credential;
  return cred?.value === undefined || cred.signer !== undefined ? {} : { [cred.header]: cred.value };
}
