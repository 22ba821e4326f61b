/**
 * Header rules of a forwarding proxy. Hop-by-hop headers, and every header named in `Connection`, apply
 * to one connection only and are removed in both directions (RFC 9110 §7.6.1). Headers are built as
 * flat `[name, value, name, value]` arrays, the form both undici and `writeHead` take without copying.
 */
import type { Endpoint } from '../registry/endpoint.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy ones proxies still see). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request headers the gateway replaces rather than forwards. */
const REPLACED_UPSTREAM = new Set(['host', 'content-length', 'x-regiongate-regions', 'expect']);

/** Names listed in a `Connection` header value, lower-cased; undefined when there are none. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined; // the usual values
  const joined = Array.isArray(value) ? value.join(',') : value;
  let out: Set<string> | undefined;
  for (const token of joined.split(',')) {
    const t = token.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive') (out ??= new Set()).add(t);
  }
  return out;
}

export interface ForwardedInfo {
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  readonly requestId: string;
}

/**
 * Upstream request headers from the client's raw headers: hop-by-hop stripped, `x-forwarded-*` and
 * `via` added, `x-request-id` set, then the endpoint's configured headers (which win).
 */
export function upstreamHeaders(
  raw: readonly string[],
  info: ForwardedInfo,
  extra: readonly (readonly [string, string])[],
  bodyLength: number,
): string[] {
  let connectionNamed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection')
      connectionNamed = mergeSets(connectionNamed, connectionTokens(raw[i + 1]));
  }
  const out: string[] = [];
  let xff: string | undefined;
  let proto: string | undefined;
  let host: string | undefined;
  let fwdHost: string | undefined;
  let via: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (HOP_BY_HOP.has(name) || REPLACED_UPSTREAM.has(name) || connectionNamed?.has(name)) {
      if (name === 'host') host = value;
      continue;
    }
    switch (name) {
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        proto ??= value;
        continue;
      case 'x-forwarded-host':
        fwdHost ??= value;
        continue;
      case 'via':
        via = via === undefined ? value : `${via}, ${value}`;
        continue;
      case 'x-request-id':
        continue;
    }
    if (hasExtra(extra, name)) continue;
    out.push(name, value);
  }
  out.push('x-forwarded-for', xff === undefined ? info.clientIp : `${xff}, ${info.clientIp}`);
  out.push('x-forwarded-proto', proto ?? info.proto);
  if (fwdHost !== undefined || host !== undefined) out.push('x-forwarded-host', (fwdHost ?? host) as string);
  out.push('via', via === undefined ? '1.1 regiongate' : `${via}, 1.1 regiongate`);
  out.push('x-request-id', info.requestId);
  if (bodyLength > 0) out.push('content-length', String(bodyLength));
  for (const [k, v] of extra) out.push(k, v);
  return out;
}

/**
 * Client response headers from undici's parsed upstream headers: hop-by-hop stripped; the caller
 * appends the `x-regiongate-*` headers.
 */
export function downstreamHeaders(headers: Record<string, string | string[] | undefined>): string[] {
  const named = connectionTokens(headers.connection);
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name) || name === 'via') continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  const via = headers.via;
  out.push('via', via === undefined ? '1.1 regiongate' : `${String(via)}, 1.1 regiongate`);
  return out;
}

/** The client's response head: the upstream's headers (hop-by-hop stripped) plus the gateway's own. */
export function responseHead(
  headers: Record<string, string | string[] | undefined>,
  endpoint: Endpoint,
  attempts: number,
  requestId: string,
): string[] {
  const out = downstreamHeaders(headers);
  out.push('x-regiongate-region', endpoint.region, 'x-regiongate-endpoint', endpoint.id, 'x-regiongate-attempts', String(attempts), 'x-request-id', requestId);
  return out;
}

function hasExtra(extra: readonly (readonly [string, string])[], name: string): boolean {
  for (let i = 0; i < extra.length; i++) if (extra[i][0] === name) return true;
  return false;
}

function mergeSets(a: Set<string> | undefined, b: Set<string> | undefined): Set<string> | undefined {
  if (!a) return b;
  if (b) for (const v of b) a.add(v);
  return a;
}
