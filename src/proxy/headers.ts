/**
 * Header rules of a forwarding proxy. Hop-by-hop headers, and every header named in `Connection`, apply
 * to one connection only and are removed in both directions (RFC 9110 §7.6.1). Headers are built as
 * flat `[name, value, name, value]` arrays, the form both undici and `writeHead` take without copying.
 */
import type { Endpoint } from '../registry/endpoint.js';
import { forwardedChain, forwardedElement, type TrustFn } from './forwarded.js';

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
/** `expect` too: the gateway answers `100-continue` itself (the body is buffered) and undici refuses it. */
const REPLACED_UPSTREAM = new Set(['host', 'content-length', 'expect']);

/**
 * Request headers that only a proxy in front of the gateway may write: who the client is, which scheme,
 * host, port or path it used, and instructions to an Envoy behind the endpoint. From anyone but a
 * trusted proxy (`listen.trustProxy`) they are dropped, and the gateway writes the ones it knows.
 */
const PROXY_WRITTEN = new Set([
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-original-forwarded-for',
  'x-original-url',
  'x-rewrite-url',
  'x-original-host',
  'front-end-https',
]);

/** Whether a client may send `name` only through a trusted proxy (lower-cased name). */
function proxyWritten(name: string): boolean {
  return PROXY_WRITTEN.has(name) || name.startsWith('x-forwarded-') || name.startsWith('x-envoy-');
}

/** Names the gateway owns in both directions: never taken from a client or an upstream (`x-regiongate-*`). */
function gatewayOwned(name: string): boolean {
  return name.startsWith('x-regiongate-');
}

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
  /** The address of the socket peer: the client, or the proxy in front. */
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  readonly requestId: string;
  /** Which proxies in front are trusted (`listen.trustProxy`); undefined = nobody. */
  readonly trust?: TrustFn;
}

/**
 * Upstream request headers from the client's raw headers: hop-by-hop and gateway-owned names
 * stripped; `x-forwarded-for`, `x-real-ip`, `x-forwarded-proto`, `x-forwarded-host`, `forwarded` and
 * `via` written under the proxy trust rules; `x-request-id` set; then the endpoint's configured headers
 * (which win).
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
  // Only the socket peer can be judged before reading the headers: it alone vouches for what they say.
  const trusted = info.trust !== undefined && info.trust(info.clientIp, 0);
  const out: string[] = [];
  let xff: string | undefined;
  let proto = false;
  let host: string | undefined;
  let fwdHost = false;
  let forwarded: string | undefined;
  let via: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    // HTTP/2 pseudo-headers (RFC 9113 §8.3) are not HTTP/1.1 fields; `:authority` stands for Host.
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') host ??= value;
      continue;
    }
    if (HOP_BY_HOP.has(name) || REPLACED_UPSTREAM.has(name) || connectionNamed?.has(name) || gatewayOwned(name)) {
      if (name === 'host') host = value;
      continue;
    }
    if (name === 'x-forwarded-for') {
      xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (proxyWritten(name)) {
      if (!trusted || name === 'x-real-ip' || hasExtra(extra, name)) continue;
      if (name === 'forwarded') {
        forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
        continue;
      }
      if (name === 'x-forwarded-proto') proto = true;
      else if (name === 'x-forwarded-host') fwdHost = true;
      out.push(name, value);
      continue;
    }
    if (name === 'via') {
      via = via === undefined ? value : `${via}, ${value}`;
      continue;
    }
    if (name === 'x-request-id' || hasExtra(extra, name)) continue;
    out.push(name, value);
  }
  const chain = forwardedChain(info.clientIp, xff, info.trust ?? noTrust);
  out.push('x-forwarded-for', chain.join(', '), 'x-real-ip', chain[0]);
  if (!proto) out.push('x-forwarded-proto', info.proto);
  if (!fwdHost && host !== undefined) out.push('x-forwarded-host', host);
  const element = forwardedElement(info.clientIp, host, info.proto);
  out.push('forwarded', forwarded === undefined ? element : `${forwarded}, ${element}`);
  out.push('via', via === undefined ? '1.1 regiongate' : `${via}, 1.1 regiongate`);
  out.push('x-request-id', info.requestId);
  if (bodyLength > 0) out.push('content-length', String(bodyLength));
  for (const [k, v] of extra) out.push(k, v);
  return out;
}

const noTrust: TrustFn = () => false;

/**
 * Client response headers from undici's parsed upstream headers: hop-by-hop, `x-request-id` and
 * `x-regiongate-*` stripped; the caller appends the gateway's own.
 */
export function downstreamHeaders(headers: Record<string, string | string[] | undefined>): string[] {
  const named = connectionTokens(headers.connection);
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    // The upstream's own request id and `x-regiongate-*` would contradict (or spoof) the gateway's.
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name) || name === 'via' || name === 'x-request-id' || gatewayOwned(name))
      continue;
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
