/**
 * Loopback names and addresses: what only this machine can reach. The config refuses a tokenless admin
 * listener anywhere else, and the admin API accepts these `Host` names without an allow-list entry.
 */
import { isIP } from 'node:net';

/** True for `localhost`, `*.localhost` (RFC 6761 §6.3), 127.0.0.0/8, `::1` and IPv4-mapped 127.x. */
export function isLoopbackHost(host: string): boolean {
  const h = unbracket(host).toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** An IP literal (`10.0.0.5`, `[::1]`), as opposed to a DNS name. */
export function isIpLiteral(host: string): boolean {
  return isIP(unbracket(host)) !== 0;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
