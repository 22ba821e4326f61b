/**
 * Answers of the admin listeners (the gateway's and the `--workers` primary's): JSON errors with stable
 * `RG_ADMIN_*` codes, and the headers every admin answer carries. No answer is cacheable, sniffable or
 * frameable (a framed dashboard would let another page click its drain buttons), and none carries
 * `Access-Control-Allow-*`: the admin API never opts into cross-origin reads.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export type AdminErrorCode =
  | 'RG_ADMIN_UNAUTHORIZED'
  | 'RG_ADMIN_FORBIDDEN'
  | 'RG_ADMIN_NOT_FOUND'
  | 'RG_ADMIN_METHOD'
  | 'RG_ADMIN_BAD_REQUEST'
  | 'RG_ADMIN_UNAVAILABLE'
  | 'RG_ADMIN_STRANDS_MODEL'
  | 'RG_ADMIN_DRILL_RUNNING'
  | 'RG_ADMIN_INTERNAL';

/** Why the admin API will not do what a request asks. */
export interface AdminRefusal {
  readonly status: number;
  readonly code: AdminErrorCode;
  readonly message: string;
  /** Extra answer headers (`allow` on a 405). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Headers on every admin answer. */
export const ADMIN_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
};

export function sendText(res: ServerResponse, status: number, body: string, type: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { ...ADMIN_HEADERS, ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), 'application/json');
}

export function sendRefusal(res: ServerResponse, r: AdminRefusal): void {
  sendText(res, r.status, JSON.stringify({ error: { message: r.message, code: r.code } }), 'application/json', r.headers);
}

/**
 * The last word of a handler that threw: a 500 if nothing was sent yet, else the connection is cut
 * (a half-sent answer cannot be turned into an error).
 */
export function answerInternalError(res: ServerResponse): void {
  if (res.headersSent) return void res.destroy();
  try {
    sendRefusal(res, { status: 500, code: 'RG_ADMIN_INTERNAL', message: 'internal error in the admin API (logged)' });
  } catch {
    res.destroy();
  }
}

/**
 * Whether an `Authorization` header carries `token` as a bearer token (constant-time); with no token
 * configured, every request passes (the config allows that on loopback only).
 */
export function tokenMatches(token: string | undefined, authorization: string | undefined): boolean {
  if (token === undefined) return true;
  const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
