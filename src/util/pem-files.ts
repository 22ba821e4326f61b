/**
 * Reading PEM files named in the config (endpoint TLS, listener TLS): every problem becomes an issue that
 * names the config key and the reason, so a missing, unreadable or invalid file is a config error, never a
 * failure on the first handshake.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';

/** Paths of a CA bundle, a certificate (chain) and its private key; any may be absent. */
export interface PemPaths {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** What was read: the CA file's certificates, the certificate chain's text and the key's text. */
export interface PemMaterial {
  readonly caCerts: string[] | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

/**
 * Read the files of `paths`; `key` is their config path (`listen.tls`). Problems are pushed to `issues`
 * (`listen.tls.cert: cannot read /x: ENOENT ...`): the caller throws them all at once.
 */
export function readPemFiles(paths: PemPaths, key: string, issues: string[]): PemMaterial {
  const read = (name: 'ca' | 'cert' | 'key', file: string | undefined): string | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      issues.push(`${key}.${name}: cannot read ${file}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const caText = read('ca', paths.ca);
  const cert = read('cert', paths.cert);
  const privateKey = read('key', paths.key);
  const caCerts = caText === undefined ? undefined : certificates(caText, `${key}.ca`, paths.ca ?? '', issues);
  const chain = cert === undefined ? undefined : certificates(cert, `${key}.cert`, paths.cert ?? '', issues);
  if (privateKey !== undefined) {
    try {
      const k = createPrivateKey(privateKey);
      // The leaf is the first certificate of the chain: a key of another certificate fails every handshake.
      if (chain !== undefined && chain.length > 0 && !new X509Certificate(chain[0]).checkPrivateKey(k))
        issues.push(`${key}.key: ${paths.key} is not the private key of the certificate in ${paths.cert}`);
    } catch (err) {
      issues.push(`${key}.key: ${paths.key} holds no usable PEM private key (${(err as Error).message})`);
    }
  }
  return { caCerts, cert, key: privateKey };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in `text`, each checked to parse; an issue when there are none or one is broken. */
function certificates(text: string, key: string, file: string, issues: string[]): string[] {
  const pems = text.match(PEM_CERT) ?? [];
  if (pems.length === 0) issues.push(`${key}: ${file} holds no PEM certificate`);
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      issues.push(`${key}: ${file} holds a certificate that does not parse (${(err as Error).message})`);
      return [];
    }
  }
  return pems;
}
