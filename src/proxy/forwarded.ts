/**
 * Which proxies in front of the gateway are trusted (`listen.trustProxy`), and what that makes of a
 * request's `X-Forwarded-For`. The semantics are Express's and fastify's `trustProxy`, on the same
 * library (`@fastify/proxy-addr`): the socket peer is hop 0, then `X-Forwarded-For` right to left; the
 * walk stops at the first untrusted address, which is the client. Everything left of it was written by
 * someone nobody vouches for, and is dropped.
 */
import proxyAddr from '@fastify/proxy-addr';

/** `false`: trust nobody; `true`: trust every hop; a number: trust that many hops; addresses/CIDRs (or `loopback`, `linklocal`, `uniquelocal`). */
export type TrustProxy = boolean | number | string | readonly string[];

/** Whether the address at `hop` (0 = the socket peer) is a trusted proxy. */
export type TrustFn = (addr: string, hop: number) => boolean;

const trustNobody: TrustFn = () => false;
const trustEveryone: TrustFn = () => true;

/** Compile a `listen.trustProxy` value; throws a TypeError naming a malformed address. */
export function compileTrustProxy(value: TrustProxy): TrustFn {
  if (value === false || value === 0) return trustNobody;
  if (value === true) return trustEveryone;
  if (typeof value === 'number') return (_addr, hop) => hop < value;
  const list = typeof value === 'string' ? value.split(',') : value;
  const names = list.map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return trustNobody;
  return proxyAddr.compile(names);
}

/**
 * The addresses a request passed through, client first and the socket peer last, as far as they are
 * vouched for: `[peer]` when the peer is not a trusted proxy.
 */
export function forwardedChain(peer: string, xff: string | undefined, trust: TrustFn): string[] {
  if (xff === undefined || !trust(peer, 0)) return [peer];
  const hops = [peer];
  const listed = xff.split(',');
  for (let i = listed.length - 1; i >= 0; i--) {
    const addr = listed[i].trim();
    if (addr === '') continue;
    hops.push(addr);
    if (!trust(addr, hops.length - 1)) break;
  }
  return hops.reverse();
}

/** One RFC 7239 `Forwarded` element for this hop: IPv6 bracketed, values quoted where not a token. */
export function forwardedElement(peer: string, host: string | undefined, proto: string): string {
  const forPart = `for=${peer.includes(':') ? quote(`[${peer}]`) : tokenOrQuoted(peer)}`;
  const hostPart = host === undefined ? '' : `;host=${tokenOrQuoted(host)}`;
  return `${forPart}${hostPart};proto=${proto}`;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function tokenOrQuoted(v: string): string {
  return TOKEN.test(v) ? v : quote(v);
}

function quote(v: string): string {
  return `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/** The scheme the client spoke to the gateway (`x-forwarded-proto`, `Forwarded: proto=`): `https` on a TLS listener. */
export function clientProto(socket: object): 'http' | 'https' {
  return (socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
}
