/**
 * How the gateway opens a connection to an endpoint, for requests (`proxy/upstream-pools.ts`) and probes
 * (`health/http-probe.ts`) alike: an https endpoint gets a connector with its own TLS settings (private CA
 * added to the roots, client certificate, servername), and every TLS failure on it, at the handshake or in
 * an alert right after it (TLS 1.3 servers refuse a missing client certificate only then), is reported to
 * `TlsFailureLog`, which logs it once per endpoint and reason. `EndpointDispatchers` gives the gateway's
 * small side clients (probes, model lists) the same. Building the connector from the endpoint's
 * `EndpointTls` is the point where a reload would swap in re-read certificates.
 */
import { Agent, Pool, buildConnector, type Dispatcher } from 'undici';
import { isTlsFailure } from './tls-failure.js';
import { tlsConnectOptions } from '../registry/endpoint-tls.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import type { Clock } from '../util/clock.js';

/** Told about a TLS failure toward `endpoint`. */
export type TlsFailureFn = (endpoint: Endpoint, err: Error) => void;

export interface ConnectBase {
  readonly timeout: number;
  readonly noDelay?: boolean;
}

/** undici's `connect` option for `endpoint`: plain options for http, a TLS connector of its own for https. */
export function endpointConnect(endpoint: Endpoint, base: ConnectBase, onTlsFailure?: TlsFailureFn): buildConnector.BuildOptions | buildConnector.connector {
  if (!endpoint.origin.startsWith('https:')) return { ...base };
  // Built again when a reload swaps the endpoint's TLS material in: new connections get the new context,
  // sockets already open keep theirs.
  let tls = endpoint.tls;
  let connector = buildConnector({ ...base, ...(tls === undefined ? {} : tlsConnectOptions(tls)) });
  const current = (): buildConnector.connector => {
    if (endpoint.tls !== tls) {
      tls = endpoint.tls;
      connector = buildConnector({ ...base, ...(tls === undefined ? {} : tlsConnectOptions(tls)) });
    }
    return connector;
  };
  const isTls = (err: unknown): boolean => {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && isTlsFailure(code);
  };
  return (opts, callback) => {
    const connect = current();
    const servername = tls?.servername;
    // undici takes the SNI from the request's Host header first: a configured servername wins over it.
    return connect(servername === undefined ? opts : { ...opts, servername }, (err, socket) => {
      if (err !== null) {
        if (isTls(err)) onTlsFailure?.(endpoint, err);
        return callback(err, null);
      }
      // Registered before undici's own listeners, so it runs first. A TLS 1.3 server refuses a client
      // certificate after the handshake: the alert's error is followed at once by undici's own "other side
      // closed", which is what the request fails with. That error gets the alert as its `cause`, so the
      // classifier can tell a refused certificate from a reset.
      let alert: Error | undefined;
      socket.on('error', (e: Error & { cause?: unknown }) => {
        if (isTls(e)) {
          alert = e;
          onTlsFailure?.(endpoint, e);
        } else if (alert !== undefined && e.cause === undefined) {
          Object.defineProperty(e, 'cause', { value: alert, configurable: true, writable: true });
        }
      });
      callback(null, socket);
    });
  };
}

/**
 * For side clients that talk to every endpoint: one shared `Agent` for http endpoints, and a `Pool` of
 * their own for https endpoints, so each gets its TLS settings.
 */
export class EndpointDispatchers {
  readonly #agent: Agent;
  readonly #tlsPools = new Map<Endpoint, Pool>();
  readonly #pool: Pool.Options;
  readonly #connect: ConnectBase;
  readonly #onTlsFailure: TlsFailureFn | undefined;

  constructor(pool: Pool.Options, connect: ConnectBase, onTlsFailure?: TlsFailureFn) {
    this.#pool = pool;
    this.#connect = connect;
    this.#onTlsFailure = onTlsFailure;
    this.#agent = new Agent({ ...pool, connect: { ...connect } });
  }

  for(endpoint: Endpoint): Dispatcher {
    if (!endpoint.origin.startsWith('https:')) return this.#agent;
    let pool = this.#tlsPools.get(endpoint);
    if (pool === undefined) {
      pool = new Pool(endpoint.origin, { ...this.#pool, connect: endpointConnect(endpoint, this.#connect, this.#onTlsFailure) });
      this.#tlsPools.set(endpoint, pool);
    }
    return pool;
  }

  /** Close the pool of `endpoint` (removed by a config reload) once its requests end. */
  forget(endpoint: Endpoint): void {
    const pool = this.#tlsPools.get(endpoint);
    this.#tlsPools.delete(endpoint);
    void pool?.close().catch(() => undefined);
  }

  /** Close the agent and every pool. */
  async close(): Promise<void> {
    const pools = [...this.#tlsPools.values()];
    this.#tlsPools.clear();
    await Promise.all([this.#agent.close(), ...pools.map((p) => p.close())]);
  }
}

/** Logs TLS failures: once per endpoint and reason, again only after `quietMs` of the same reason. */
export class TlsFailureLog {
  readonly #last = new Map<string, { reason: string; at: number }>();
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #quietMs: number;

  constructor(logger: Logger, clock: Clock, quietMs = 300_000) {
    this.#logger = logger;
    this.#clock = clock;
    this.#quietMs = quietMs;
  }

  readonly note: TlsFailureFn = (endpoint, err) => {
    const code = (err as { code?: unknown }).code;
    const reason = `${typeof code === 'string' ? code : 'TLS'}: ${err.message}`;
    const now = this.#clock.monotonic();
    const last = this.#last.get(endpoint.id);
    if (last !== undefined && last.reason === reason && now - last.at < this.#quietMs) return;
    this.#last.set(endpoint.id, { reason, at: now });
    this.#logger.warn(LOG_EVENT.upstreamTls, { endpoint: endpoint.id, region: endpoint.region, code, reason: err.message });
  };
}
