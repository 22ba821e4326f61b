/**
 * A private PKI for TLS tests, made with openssl in a temp dir: a CA, a server certificate for
 * localhost/127.0.0.1, a client certificate, and a second CA that signed nothing. `issue` makes more
 * leaves from the same CA (a renewed server certificate, say). Removed in teardown.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second CA that signed nothing here: trusting it alone must not do. */
  readonly otherCa: string;
  /** A new leaf signed by the test CA: `name.pem` and `name.key` in `dir`, with `ext` as its extensions. */
  issue(name: string, cn: string, ext: string): { cert: string; key: string };
}

/** Server certificate extensions for localhost and 127.0.0.1. */
export const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
export const CLIENT_EXT = 'extendedKeyUsage=clientAuth\n';

/** Whether openssl is on PATH (TLS test files plan 0 tests without it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Make the PKI; its directory is removed in `t`'s teardown. */
export function makePki(t: { teardown(fn: () => unknown): void }): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'regiongate-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string): void =>
    ssl('req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  makeCa('test-ca');
  makeCa('other-ca');
  const issue = (name: string, cn: string, ext: string): { cert: string; key: string } => {
    writeFileSync(f(`${name}.ext`), ext);
    ssl('req', '-new', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('test-ca.pem'), '-CAkey', f('test-ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
    return { cert: f(`${name}.pem`), key: f(`${name}.key`) };
  };
  const server = issue('server', 'localhost', SERVER_EXT);
  const client = issue('client', 'regiongate-gateway', CLIENT_EXT);
  return { dir, ca: f('test-ca.pem'), serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key, otherCa: f('other-ca.pem'), issue };
}
