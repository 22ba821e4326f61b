/**
 * Fetch an endpoint's load metrics page (`GET <url><loadSignals.path>`) through one small undici
 * `Agent`, with the endpoint's configured headers (they may carry its credentials). The body is read up
 * to `maxBytes` and no further; the caller owns the timeout and aborts through `signal`.
 */
import { Agent, request } from 'undici';
import type { Endpoint } from '../registry/endpoint.js';

/** Resolves with the exposition text; rejects on a transport error, a non-200, or a body over the cap. */
export type MetricsFetch = (endpoint: Endpoint, path: string, signal: AbortSignal) => Promise<string>;

export interface MetricsFetcher {
  readonly fetch: MetricsFetch;
  close(): Promise<void>;
}

const USER_AGENT = 'regiongate-load/1';

export function createMetricsFetcher(opts: { readonly maxBytes: number; readonly connectTimeout: number }): MetricsFetcher {
  const agent = new Agent({ connections: 2, pipelining: 1, keepAliveTimeout: 10_000, connect: { timeout: opts.connectTimeout } });

  async function fetchMetrics(endpoint: Endpoint, path: string, signal: AbortSignal): Promise<string> {
    const res = await request(`${endpoint.origin}${endpoint.basePath}${path}`, {
      method: 'GET',
      dispatcher: agent,
      headers: { 'user-agent': USER_AGENT, accept: 'text/plain', ...Object.fromEntries(endpoint.headers) },
      signal,
    });
    if (res.statusCode !== 200) {
      await res.body.dump({ limit: 64 * 1024, signal });
      throw new Error(`GET ${path} answered ${res.statusCode}`);
    }
    const declared = Number(res.headers['content-length']);
    if (declared > opts.maxBytes) {
      await res.body.dump({ limit: 0, signal });
      throw new Error(`metrics page of ${declared} bytes is over the ${opts.maxBytes}-byte cap`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > opts.maxBytes) throw new Error(`metrics page is over the ${opts.maxBytes}-byte cap`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  return { fetch: fetchMetrics, close: () => agent.close() };
}
