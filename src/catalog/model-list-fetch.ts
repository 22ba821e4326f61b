/**
 * Fetch an endpoint's own model list (`GET <url>/v1/models`, OpenAI's `{"data":[{"id":…}]}`) through one
 * small undici `Agent` (a pool of its own for an https endpoint, with its TLS settings), with the endpoint's configured headers (they carry its credentials). The body is
 * read up to `maxBytes` and no further; the caller owns the timeout and aborts through `signal`.
 */
import { request } from 'undici';
import type { Endpoint } from '../registry/endpoint.js';
import { EndpointDispatchers, type TlsFailureFn } from '../proxy/tls-connect.js';

/** Resolves with the model ids an endpoint lists; rejects on a transport error, a non-200, a body over the cap, or a malformed list. */
export type ModelListFetch = (endpoint: Endpoint, signal: AbortSignal) => Promise<string[]>;

export interface ModelListFetcher {
  readonly fetch: ModelListFetch;
  /** Close the agent and its sockets. */
  close(): Promise<void>;
}

/** Longest model id taken from a list; longer ones are ignored. */
const MAX_ID_LENGTH = 512;
const USER_AGENT = 'regiongate-models/1';

export function createModelListFetcher(opts: { readonly maxBytes: number; readonly connectTimeout: number; readonly onTlsFailure?: TlsFailureFn }): ModelListFetcher {
  // https endpoints get their TLS settings (private CA, client certificate), as for requests.
  const dispatchers = new EndpointDispatchers({ connections: 1, pipelining: 1, keepAliveTimeout: 10_000 }, { timeout: opts.connectTimeout }, opts.onTlsFailure);

  async function fetchModelList(endpoint: Endpoint, signal: AbortSignal): Promise<string[]> {
    const path = `${endpoint.basePath}/v1/models`;
    const signer = endpoint.credential?.signer;
    const signed = signer === undefined ? [] : await signer.sign({ method: 'GET', origin: endpoint.origin, path, body: null });
    const res = await request(endpoint.origin + path, {
      method: 'GET',
      dispatcher: dispatchers.for(endpoint),
      headers: { 'user-agent': USER_AGENT, accept: 'application/json', ...Object.fromEntries(endpoint.headers), ...credentialHeader(endpoint), ...Object.fromEntries(signed) },
      signal,
    });
    // `dump` reads a little and then closes quietly; a bare destroy() would raise an unhandled abort.
    if (res.statusCode !== 200) {
      await res.body.dump({ limit: 64 * 1024, signal });
      throw new Error(`GET /v1/models answered ${res.statusCode}`);
    }
    const declared = Number(res.headers['content-length']);
    if (declared > opts.maxBytes) {
      await res.body.dump({ limit: 0, signal });
      throw new Error(`model list of ${declared} bytes is over the ${opts.maxBytes}-byte cap`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      // Leaving the loop by a throw destroys the body (the iterator's return), without an error event.
      if (size > opts.maxBytes) {
        throw new Error(`model list is over the ${opts.maxBytes}-byte cap`);
      }
      chunks.push(chunk as Buffer);
    }
    return parseModelList(Buffer.concat(chunks, size).toString('utf8'));
  }

  return { fetch: fetchModelList, close: () => dispatchers.close() };
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

/** The endpoint's refreshed credential as a header, if one is held now. */
function credentialHeader(endpoint: Endpoint): Record<string, string> {
  const cred = endpoint.credential;
  return cred?.value === undefined || cred.signer !== undefined ? {} : { [cred.header]: cred.value };
}
