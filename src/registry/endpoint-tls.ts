/**
 * TLS toward one endpoint (`regions[].endpoints[].tls`): the PEM files it names, read and checked once at
 * start so a missing, unreadable or invalid file is a config error naming its key, never a failure on the
 * first request. What this builds is plain data (`EndpointTls`); the connect options derived from it
 * (`tlsConnectOptions`) are the one thing a future reload swaps to re-read certificates.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext, rootCertificates, type ConnectionOptions, type SecureContext } from 'node:tls';
import type { EndpointTlsConfig, GatewayConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';

/** The loaded material: PEM text, never paths. */
export interface EndpointTls {
  /** Trusted roots: Node's bundled roots plus the configured CA file's certificates; undefined = Node's default. */
  readonly ca: readonly string[] | undefined;
  /** Client certificate chain and key for mutual TLS. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** Name sent as SNI and checked against the endpoint's certificate; undefined = the URL's host. */
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean;
}

/** Read and check the files of `cfg`; `key` is its config path (`regions[0].endpoints[1].tls`). Throws `ConfigError`. */
export function loadEndpointTls(cfg: EndpointTlsConfig, key: string): EndpointTls {
  const issues: string[] = [];
  const read = (name: 'ca' | 'cert' | 'key', file: string | undefined): string | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      issues.push(`${key}.${name}: cannot read ${file}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const caText = read('ca', cfg.ca);
  const cert = read('cert', cfg.cert);
  const privateKey = read('key', cfg.key);
  const caCerts = caText === undefined ? undefined : certificates(caText, `${key}.ca`, cfg.ca ?? '', issues);
  const chain = cert === undefined ? undefined : certificates(cert, `${key}.cert`, cfg.cert ?? '', issues);
  if (privateKey !== undefined) {
    try {
      const k = createPrivateKey(privateKey);
      // The leaf is the first certificate of the chain: a key of another certificate fails every handshake.
      if (chain !== undefined && chain.length > 0 && !new X509Certificate(chain[0]).checkPrivateKey(k))
        issues.push(`${key}.key: ${cfg.key} is not the private key of the certificate in ${cfg.cert}`);
    } catch (err) {
      issues.push(`${key}.key: ${cfg.key} holds no usable PEM private key (${(err as Error).message})`);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze({
    // `ca` replaces Node's roots in a TLS context: the configured CA is added to them, not put in their place.
    ca: caCerts === undefined ? undefined : Object.freeze([...rootCertificates, ...caCerts]),
    cert,
    key: privateKey,
    servername: cfg.servername,
    rejectUnauthorized: cfg.rejectUnauthorized,
  });
}

/**
 * Read every endpoint's TLS files, reporting all problems at once (`check-config`, and `start` before any
 * worker is forked). Throws `ConfigError` naming each key; `source` is the config file.
 */
export function checkEndpointTlsFiles(config: Pick<GatewayConfig, 'regions'>, source?: string): void {
  const issues: string[] = [];
  config.regions.forEach((r, ri) =>
    r.endpoints.forEach((e, ei) => {
      if (e.tls === undefined) return;
      try {
        loadEndpointTls(e.tls, `regions[${ri}].endpoints[${ei}].tls`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        issues.push(...err.issues);
      }
    }),
  );
  if (issues.length > 0) throw new ConfigError(issues, source);
}

/**
 * One `SecureContext` per endpoint's settings, built on first use. Passing `ca`/`cert`/`key` to every
 * `tls.connect` would build a context per connection, parsing the ~140 bundled roots plus the private CA
 * each time (about 100 ms of CPU on a busy 2-core machine); a shared context costs that once.
 */
const contexts = new WeakMap<EndpointTls, SecureContext>();

function secureContextOf(tls: EndpointTls): SecureContext {
  let ctx = contexts.get(tls);
  if (ctx === undefined) {
    ctx = createSecureContext({ ca: tls.ca === undefined ? undefined : [...tls.ca], cert: tls.cert, key: tls.key });
    contexts.set(tls, ctx);
  }
  return ctx;
}

/** The `node:tls` connect options for an endpoint's TLS settings: its shared context, servername, verification. */
export function tlsConnectOptions(tls: EndpointTls): ConnectionOptions {
  const o: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized, secureContext: secureContextOf(tls) };
  if (tls.servername !== undefined) o.servername = tls.servername;
  return o;
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
