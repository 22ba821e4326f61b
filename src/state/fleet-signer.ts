/**
 * Authenticates fleet messages: an HMAC-SHA256 (node:crypto) keyed with `state.secret` over a canonical
 * encoding of a message's content. Every gateway of a fleet holds the same secret, so a valid signature
 * says "written by a gateway of this fleet", not which one; without the secret nobody can forge,
 * alter, lengthen or re-attribute a message. Without a secret the fleet trusts every writer (said at
 * start, in `/admin/state` and on the dashboard).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Shortest accepted `state.secret` (characters); also checked by the config schema. */
export const MIN_SECRET_LENGTH = 16;

/** Bound into every signature, so a signature made for something else never verifies here. */
const CONTEXT = 'regiongate-fleet-v2\n';

export class FleetSigner {
  readonly #key: Buffer | undefined;

  constructor(secret: string | undefined) {
    this.#key = secret === undefined || secret === '' ? undefined : Buffer.from(secret, 'utf8');
  }

  /** Whether messages are signed and checked (a secret is configured). */
  get signed(): boolean {
    return this.#key !== undefined;
  }

  /** The signature of `canonical` (base64url), or undefined without a secret. */
  sign(canonical: string): string | undefined {
    if (this.#key === undefined) return undefined;
    return createHmac('sha256', this.#key).update(CONTEXT).update(canonical).digest('base64url');
  }

  /** Whether `sig` is valid for `canonical`; always true without a secret (every writer is trusted). */
  verify(canonical: string, sig: unknown): boolean {
    if (this.#key === undefined) return true;
    if (typeof sig !== 'string' || sig.length !== 43) return false;
    const want = Buffer.from(this.sign(canonical) ?? '', 'utf8');
    const got = Buffer.from(sig, 'utf8');
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
