/**
 * What a request must look like before the admin API considers it, whatever the token says. Browsers are
 * the threat here: any page the operator opens can send simple requests to 127.0.0.1:9090 (a `text/plain`
 * POST needs no preflight), and a page on a DNS name the attacker re-points at 127.0.0.1 (DNS rebinding)
 * can even read the answers. So:
 * - the target must be a path (origin-form, RFC 9112 §3.2.1); absolute- and asterisk-form are refused;
 * - `Host` must be a loopback name, an IP literal (a rebinding page always sends its own DNS name), the
 *   configured `admin.host`, or listed in `admin.allowedHosts`;
 * - `Origin`, when a browser sends one, must be this listener's own (same host and port);
 * - a state change (any method but GET and HEAD) must carry a header that a browser sends cross-site
 *   only after a CORS preflight: `Authorization`, `X-Regiongate-Admin` or `Content-Type: application/json`.
 *   Preflights (OPTIONS) are refused and nothing answers with `Access-Control-Allow-*`, so none passes.
 */
import type { IncomingMessage } from 'node:http';
import { isIpLiteral, isLoopbackHost } from '../util/loopback.js';
import type { AdminRefusal } from './admin-http.js';

export interface AdminAccessOptions {
  /** The configured `admin.host`; a wildcard address (0.0.0.0, ::) names no host. */
  readonly host: string;
  /** Further `Host` names accepted (a DNS name operators or Prometheus use for this port). */
  readonly allowedHosts?: readonly string[];
}

/** A request's origin-form target. */
export interface AdminRequestTarget {
  readonly path: string;
  readonly query: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);
/** Characters that never appear in a Host a browser sends (and would confuse URL parsing). */
const BAD_HOST_CHARS = /[\s@/\\?#]/;

/** Checks every admin request against the rules above; built once per listener. */
export class AdminAccess {
  readonly #names: ReadonlySet<string>;

  constructor(opts: AdminAccessOptions) {
    const names = new Set<string>();
    for (const h of [opts.host, ...(opts.allowedHosts ?? [])]) {
      const n = hostname(h);
      if (n !== undefined && n !== '0.0.0.0' && n !== '[::]') names.add(n);
    }
    this.#names = names;
  }

  /** The request's path and query, or why it is refused. `/healthz` skips the Host and Origin rules. */
  check(req: IncomingMessage): AdminRequestTarget | AdminRefusal {
    const target = parseTarget(req.url);
    if ('code' in target) return target;
    if (req.method === 'OPTIONS')
      return { status: 405, code: 'RG_ADMIN_METHOD', message: 'the admin API answers no CORS preflight', headers: { allow: 'GET, HEAD, POST' } };
    if (target.path === '/healthz') return target;
    const host = req.headers.host;
    if (host !== undefined && !this.#hostAllowed(host))
      return forbidden(`Host "${printable(host)}" is not a loopback name, an IP address or admin.host: add it to admin.allowedHosts to use it`);
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, host))
      return forbidden(`cross-origin request refused (Origin "${printable(origin)}")`);
    if (!SAFE_METHODS.has(req.method ?? '') && !preflighted(req))
      return forbidden('a state change needs a header browsers send cross-site only after a preflight: Authorization, X-Regiongate-Admin: 1, or Content-Type: application/json');
    return target;
  }

  #hostAllowed(header: string): boolean {
    const name = hostname(header);
    if (name === undefined) return false;
    return isLoopbackHost(name) || isIpLiteral(name) || this.#names.has(name);
  }
}

/** The path and query of an origin-form target, or a 400 for anything else (`http://x/`, `*`, none). */
export function parseTarget(url: string | undefined): AdminRequestTarget | AdminRefusal {
  if (url === undefined || !url.startsWith('/'))
    return { status: 400, code: 'RG_ADMIN_BAD_REQUEST', message: 'the request target must be a path such as /admin/state' };
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** `%ZZ` and other malformed escapes give undefined instead of throwing. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The lower-cased host name of a `Host` value or host (port dropped, IPv6 bracketed), as a browser has it. */
function hostname(hostHeader: string): string | undefined {
  if (hostHeader === '' || BAD_HOST_CHARS.test(hostHeader)) return undefined;
  const bare = hostHeader.includes(':') && !hostHeader.startsWith('[') && hostHeader.indexOf(':') !== hostHeader.lastIndexOf(':')
    ? `[${hostHeader}]` // a configured IPv6 address without brackets
    : hostHeader;
  try {
    return new URL(`http://${bare}`).hostname;
  } catch {
    return undefined;
  }
}

/** The `Origin` is this listener's: same host and port as the request's `Host` (http or https, behind TLS). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined || BAD_HOST_CHARS.test(host)) return false;
  try {
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host === new URL(`http://${host}`).host;
  } catch {
    return false; // `null` (sandboxed frames, file:) and anything unparsable
  }
}

function preflighted(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return req.headers.authorization !== undefined || req.headers['x-regiongate-admin'] !== undefined || type === 'application/json';
}

function forbidden(message: string): AdminRefusal {
  return { status: 403, code: 'RG_ADMIN_FORBIDDEN', message };
}

/** A header value fit for an error message: bounded, printable ASCII only. */
function printable(value: string): string {
  return value.slice(0, 100).replace(/[^\x20-\x7e]/g, '?');
}
