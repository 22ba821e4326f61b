/**
 * TLS toward one endpoint (`regions[].endpoints[].tls`): the PEM files it names, read and checked once at
 * start so a missing, unreadable or invalid file is a config error naming its key, never a failure on the
 * first request. What this builds is plain data (`EndpointTls`); the connect options derived from it
 * (`tlsConnectOptions`) are the one thing a future reload swaps to re-read certificates.
 */
import { createSecureContext, rootCertificates, type ConnectionOptions, type SecureContext } from 'node:tls';
import type { EndpointTlsConfig, GatewayConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { readPemFiles } from '../util/pem-files.js';

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
  const { caCerts, cert, key: privateKey } = readPemFiles(cfg, key, issues);
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
