/**
 * Reads a token out of what a credential source produced: the kubectl exec-credential JSON
 * (`{"status":{"token","expirationTimestamp"}}`), Azure CLI's `az account get-access-token` JSON
 * (`accessToken`, `expires_on` in epoch seconds), or plain text (`gcloud auth print-access-token`).
 * A JWT's own `exp` gives the expiry when nothing else does (Kubernetes projected service-account
 * tokens). Errors name what is wrong, never the text itself: it may hold the secret.
 */

export interface IssuedToken {
  readonly token: string;
  /** Epoch ms after which the token is no longer used; undefined when unknown. */
  readonly expiresAt: number | undefined;
}

export class TokenFormatError extends Error {}

/** Longest token accepted (a header value, not a document). */
const MAX_TOKEN_CHARS = 16 * 1024;

/** Parse a source's output; `text` is the whole of it. */
export function parseTokenOutput(text: string): IssuedToken {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return fromJson(trimmed);
  return checked(trimmed, jwtExpiry(trimmed));
}

function fromJson(text: string): IssuedToken {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TokenFormatError('output starts with "{" but is not valid JSON');
  }
  const o = record(doc);
  const status = record(o?.status);
  if (status !== undefined && typeof status.token === 'string') {
    const at = status.expirationTimestamp;
    if (at !== undefined && typeof at !== 'string') throw new TokenFormatError('status.expirationTimestamp must be an RFC 3339 time');
    const expiresAt = at === undefined ? jwtExpiry(status.token) : Date.parse(at);
    if (Number.isNaN(expiresAt)) throw new TokenFormatError('status.expirationTimestamp is not a valid RFC 3339 time');
    return checked(status.token.trim(), expiresAt);
  }
  if (o !== undefined && typeof o.accessToken === 'string') {
    const secs = typeof o.expires_on === 'number' ? o.expires_on : typeof o.expires_on === 'string' ? Number(o.expires_on) : NaN;
    return checked(o.accessToken.trim(), Number.isFinite(secs) ? secs * 1000 : jwtExpiry(o.accessToken));
  }
  throw new TokenFormatError('JSON output has neither status.token (exec credential) nor accessToken');
}

function checked(token: string, expiresAt: number | undefined): IssuedToken {
  if (token === '') throw new TokenFormatError('the token is empty');
  if (token.length > MAX_TOKEN_CHARS) throw new TokenFormatError(`the token is longer than ${MAX_TOKEN_CHARS} characters`);
  // It becomes a header value: anything outside visible ASCII would corrupt or split the request.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new TokenFormatError('the token holds whitespace, control or non-ASCII characters');
  return { token, expiresAt };
}

/** The `exp` claim of a JWT in epoch ms, or undefined when `token` is no JWT or has none. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const exp = record(JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')))?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
