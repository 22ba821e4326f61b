/**
 * Checks on a request's method, framing and target before anything is forwarded, shared by plain
 * requests and upgrades. The path is normalised here once (RFC 3986 §5.2.4), so every later step (the
 * endpoint's base path, routing by path, tracing) sees the same path the upstream will get, and no
 * path can climb out of an endpoint's base path.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

/**
 * Methods never forwarded. TRACE (and IIS's TRACK) echo the request as the upstream received it,
 * endpoint credentials included (RFC 9110 §9.3.8); CONNECT would turn the gateway into an open tunnel.
 */
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);

/** Headers some frameworks read as the real method of a POST. */
const METHOD_OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

/** The `allow` header sent with a 405 (RFC 9110 §15.5.6 requires one). */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** Whether `method` (or a method-override header of `req`) names a method the gateway refuses. */
export function refusedMethod(req: IncomingMessage): boolean {
  if (REFUSED_METHODS.has(req.method ?? '')) return true;
  for (const name of METHOD_OVERRIDES) {
    const v = req.headers[name];
    if (typeof v === 'string' && REFUSED_METHODS.has(v.trim().toUpperCase())) return true;
  }
  return false;
}

/**
 * The gateway error a request gets before routing, or undefined when it may go on; on the way,
 * `req.url` is replaced by its normalised form.
 */
export function edgeRefusal(req: IncomingMessage): GatewayError | undefined {
  if (refusedMethod(req)) return new GatewayError('RG_ERR_METHOD_NOT_ALLOWED', { message: `the gateway does not forward ${req.method} requests` });
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') hosts++;
  // RFC 9112 §3.2: a request with more than one Host is refused; Node keeps the first and moves on.
  if (hosts > 1) return new GatewayError('RG_ERR_BAD_REQUEST', { message: 'more than one Host header' });
  const te = req.headers['transfer-encoding'];
  // Node accepts `identity` and codings before `chunked`; the gateway re-frames bodies with a length and
  // would pass coded bytes on as if they were plain.
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked')
    return new GatewayError('RG_ERR_BAD_REQUEST', { message: `unsupported transfer-encoding "${te}": only chunked is accepted` });
  const url = req.url ?? '/';
  if (url[0] !== '/') return undefined; // not origin-form: the gateway refuses it later with its own message
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const normal = normalizePath(path);
  if (normal === undefined) return new GatewayError('RG_ERR_AMBIGUOUS_PATH');
  if (normal !== path) req.url = q === -1 ? normal : normal + url.slice(q);
  return undefined;
}

/** Anything that can encode a dot, a separator or NUL; paths without one need no work. */
const SPECIAL = /[.%\\]/;
/** Separators that an upstream might see where the gateway sees none. */
const HIDDEN_SEPARATOR = /\\|%2f|%5c|%25/i;

/**
 * `path` with its dot segments removed (RFC 3986 §5.2.4; `%2e` counts as a dot), or undefined when
 * the path is ambiguous: an encoded NUL, or a dot segment that appears only when encoded slashes or
 * backslashes (or a second round of percent-decoding) are read as separators, as some upstreams do.
 * An encoded slash without a dot segment (`/v1/models/org%2Fname`) is left alone: it cannot climb.
 */
export function normalizePath(path: string): string | undefined {
  if (!SPECIAL.test(path)) return path;
  if (/%00/.test(path)) return undefined;
  if (HIDDEN_SEPARATOR.test(path)) {
    const decodedOnce = path.replace(/%25/gi, '%');
    for (const seg of decodedOnce.split(/\/|\\|%2f|%5c/i)) if (dotSegment(seg) !== 0) return undefined;
  }
  const segs = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const kind = dotSegment(segs[i]);
    const last = i === segs.length - 1;
    if (kind === 0) out.push(segs[i]);
    else {
      if (kind === 2) out.pop(); // above the root stays at the root (RFC 3986 §5.2.4)
      if (last) out.push(''); // `/a/b/..` is `/a/`
    }
  }
  return `/${out.join('/')}`;
}

/** 1 for `.`, 2 for `..` (either written as `%2e`), 0 for any other segment. */
function dotSegment(seg: string): 0 | 1 | 2 {
  if (seg.length === 0 || seg.length > 6) return 0;
  const plain = seg.replace(/%2e/gi, '.');
  return plain === '.' ? 1 : plain === '..' ? 2 : 0;
}
