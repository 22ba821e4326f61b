/**
 * A printable copy of a resolved config with secrets masked: the admin token, endpoint header values
 * (API keys), credential command arguments, the Sentinel password, the fleet secret and passwords inside URLs.
 */
import type { GatewayConfig } from './schema.js';

const MASK = '****';

export function maskSecrets(cfg: GatewayConfig): unknown {
  return {
    ...cfg,
    admin: { ...cfg.admin, token: cfg.admin.token === undefined ? undefined : MASK },
    state: {
      ...cfg.state,
      secret: cfg.state.secret === undefined ? undefined : MASK,
      redis: {
        ...cfg.state.redis,
        url: maskUrl(cfg.state.redis.url),
        sentinelPassword: cfg.state.redis.sentinelPassword === undefined ? undefined : MASK,
      },
    },
    regions: cfg.regions.map((r) => ({
      ...r,
      endpoints: r.endpoints.map((e) => ({
        ...e,
        url: maskUrl(e.url),
        headers: Object.fromEntries(Object.keys(e.headers).map((k) => [k, MASK])),
        // Arguments may carry a secret (a client secret, a resolved \${VAR}): only the program is shown.
        credentials:
          e.credentials !== undefined && 'command' in e.credentials
            ? { command: { ...e.credentials.command, argv: e.credentials.command.argv.map((a, i) => (i === 0 ? a : MASK)) } }
            : e.credentials,
      })),
    })),
  };
}

function maskUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = MASK;
    if (u.username && u.password === '') u.username = MASK;
    return u.toString();
  } catch {
    return raw;
  }
}
