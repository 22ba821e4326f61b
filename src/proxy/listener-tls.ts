/**
 * TLS toward clients (`listen.tls`): the server certificate, its key and (for mutual TLS) the CA client
 * certificates must chain to, read from PEM files and checked before the listener exists, so a bad file is
 * a config error naming its key. `reload()` re-reads them and swaps the listener's secure context: new
 * handshakes get the new certificate, connections already established keep theirs.
 */
import { X509Certificate } from 'node:crypto';
import type { SecureContextOptions, Server as TlsServer, TlsOptions } from 'node:tls';
import type { GatewayConfig, ListenTlsConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { readPemFiles } from '../util/pem-files.js';

/** The config path every issue names. */
const KEY = 'listen.tls';

/** The certificate in force, as a log line or an admin answer shows it (no key material). */
export interface ListenerCertificate {
  readonly subject: string;
  readonly fingerprint256: string;
  readonly validTo: string;
}

interface Loaded {
  readonly context: SecureContextOptions;
  readonly certificate: ListenerCertificate;
}

/** Read and check the files of `cfg`; throws `ConfigError` naming each problem's key (`listen.tls.cert: ...`). */
function load(cfg: ListenTlsConfig, source?: string): Loaded {
  const issues: string[] = [];
  const pem = readPemFiles(cfg, KEY, issues);
  if (issues.length > 0 || pem.cert === undefined || pem.key === undefined) throw new ConfigError(issues, source);
  const leaf = new X509Certificate(pem.cert);
  return {
    // `ca` here is whom client certificates must chain to (only those), not roots added to Node's.
    context: { cert: pem.cert, key: pem.key, ca: pem.caCerts, minVersion: cfg.minVersion },
    certificate: { subject: leaf.subject, fingerprint256: leaf.fingerprint256, validTo: leaf.validTo },
  };
}

/** Check the `listen.tls` files (`check-config`, and `start` before any worker is forked). Throws `ConfigError`. */
export function checkListenTlsFiles(config: Pick<GatewayConfig, 'listen'>, source?: string): void {
  if (config.listen.tls !== undefined) load(config.listen.tls, source);
}

export class ListenerTls {
  #cfg: ListenTlsConfig;
  #loaded: Loaded;
  #server: TlsServer | undefined;

  /** Reads the files now: throws `ConfigError` when one is missing, unreadable or invalid. */
  constructor(cfg: ListenTlsConfig) {
    this.#cfg = cfg;
    this.#loaded = load(cfg);
  }

  /** Options for `https.createServer` (or `http2.createSecureServer`) from the files as read. */
  serverOptions(): TlsOptions {
    const mutual = this.#cfg.ca !== undefined;
    return { ...this.#loaded.context, requestCert: mutual, rejectUnauthorized: mutual };
  }

  /** The server whose secure context `reload` swaps. */
  attach(server: TlsServer): void {
    this.#server = server;
  }

  /** The certificate new handshakes present. */
  get certificate(): ListenerCertificate {
    return this.#loaded.certificate;
  }

  /**
   * Re-read the files (of `cfg` when given: a reloaded config may name other paths) and make new handshakes
   * use them. On a bad file this throws `ConfigError` and nothing changes: the old certificate stays in use.
   * Whether clients must present a certificate is fixed at start (`ca` set or not): that cannot change live.
   */
  reload(cfg: ListenTlsConfig = this.#cfg): ListenerCertificate {
    if ((cfg.ca === undefined) !== (this.#cfg.ca === undefined))
      throw new ConfigError([`${KEY}.ca: adding or removing client certificate checks needs a restart`]);
    const loaded = load(cfg);
    this.#server?.setSecureContext(loaded.context);
    this.#cfg = cfg;
    this.#loaded = loaded;
    return loaded.certificate;
  }
}
