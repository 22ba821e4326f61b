/**
 * Rules for the secrets a config holds. A placeholder that validates is worse than a missing value: the
 * gateway runs, `check-config` prints `****`, and nobody sees that the admin API takes `change-me`. So
 * the admin token must look like a real secret (a config error otherwise), and endpoint credentials that
 * look like placeholders are named in a loud warning. Messages name the key, never the value.
 */
import { isLoopbackHost } from '../util/loopback.js';

/** Shortest admin token accepted: 16 characters (e.g. `openssl rand -hex 16` gives 32). */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Known placeholder words, compared lower-cased with `-`, `_`, `.` and spaces removed. */
const PLACEHOLDERS = new Set([
  'changeme', 'replaceme', 'setme', 'fixme', 'todo', 'tbd', 'example', 'skexample', 'secret', 'mysecret',
  'password', 'passwd', 'token', 'apikey', 'key', 'yourkey', 'yourtoken', 'yourapikey', 'yoursecret',
  'placeholder', 'dummy', 'default', 'test', 'testing', 'admin', 'none', 'null', 'undefined', 'sktest',
  'changeit', 'letmein', 'insertkeyhere', 'xxx', '123456', '12345678',
]);
/** Words that mark a placeholder wherever they appear (`change-me-please`, `sk-example-key`). */
const PLACEHOLDER_PARTS = /changeme|replaceme|placeholder|example|yourapikey|yourtoken|insertkey|dummy/;

/** True when `value` looks like a placeholder rather than a secret (scheme words such as `Bearer` ignored). */
export function isPlaceholderSecret(value: string): boolean {
  const v = value.trim().replace(/^(bearer|basic|token)(\s+|$)/i, '');
  if (v === '') return true;
  if (/^<.*>$|^\{\{.*\}\}$/.test(v)) return true; // <YOUR_KEY>, {{ api_key }}
  const squashed = v.toLowerCase().replace(/[-_. ]/g, '');
  if (PLACEHOLDERS.has(squashed) || PLACEHOLDER_PARTS.test(squashed)) return true;
  // xxxx, sk-xxxx, ****, 0000: one character repeated is never a real key.
  return /^(sk)?(.)\2{2,}$/.test(squashed) || /^\*+$/.test(v);
}

/** Why `token` cannot be the admin token (a placeholder, or too short), or undefined when it can. */
export function adminTokenProblem(token: string): string | undefined {
  if (isPlaceholderSecret(token)) return 'is a placeholder value: set a random one (e.g. `openssl rand -hex 32`)';
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) return `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`;
  return undefined;
}

/** Why an admin listener without a token may not start: it is enabled off loopback. */
export function tokenlessAdminProblem(admin: { readonly enabled: boolean; readonly host: string; readonly token?: string | undefined }): string | undefined {
  if (admin.token !== undefined || !admin.enabled || isLoopbackHost(admin.host)) return undefined;
  return `is required when admin.host ("${admin.host}") is not a loopback address: without it anyone who reaches the port can drain every region`;
}

/** Header names that carry credentials. */
const CREDENTIAL_HEADER = /authorization|api[-_]?key|token|secret|password|^cookie$/i;

interface WarnableConfig {
  readonly regions: readonly {
    readonly endpoints: readonly { readonly headers: Readonly<Record<string, string>> }[];
  }[];
}

/** Warnings for a valid config: endpoint credentials that look like placeholders, by key path. */
export function configWarnings(cfg: WarnableConfig): string[] {
  const out: string[] = [];
  cfg.regions.forEach((r, ri) =>
    r.endpoints.forEach((e, ei) => {
      for (const [name, value] of Object.entries(e.headers))
        if (CREDENTIAL_HEADER.test(name) && isPlaceholderSecret(value))
          out.push(`regions[${ri}].endpoints[${ei}].headers.${name}: looks like a placeholder, not a credential: the upstream will likely refuse every request`);
    }),
  );
  return out;
}
