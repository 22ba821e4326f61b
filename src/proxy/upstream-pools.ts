/**
 * One keep-alive undici `Pool` per endpoint origin. Our own timers govern connect, first-byte and idle
 * time (undici's are coarse), so undici's are set only as loose backstops.
 */
import { Pool } from 'undici';
import type { Endpoint } from '../registry/endpoint.js';

export interface UpstreamPoolOptions {
  readonly connectTimeout: number;
  /** Idle upstream sockets are kept this long. */
  readonly keepAliveTimeout?: number;
}

export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();
  readonly #opts: UpstreamPoolOptions;

  constructor(opts: UpstreamPoolOptions) {
    this.#opts = opts;
  }

  /** The pool of `endpoint`'s origin, created on first use. */
  get(endpoint: Endpoint): Pool {
    let pool = this.#pools.get(endpoint.id);
    if (pool === undefined) {
      pool = new Pool(endpoint.origin, {
        connections: endpoint.connections > 0 ? endpoint.connections : null,
        pipelining: 1,
        keepAliveTimeout: this.#opts.keepAliveTimeout ?? 30_000,
        keepAliveTimeoutThreshold: 1000,
        // Backstops only: the exchange runs precise timers of its own.
        connect: { timeout: this.#opts.connectTimeout + 1000, noDelay: true },
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.#pools.set(endpoint.id, pool);
    }
    return pool;
  }

  /** Close every pool, waiting for in-flight requests; `destroy` after `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(
      pools.map(async (p) => {
        let timer: NodeJS.Timeout | undefined;
        const forced = new Promise<void>((resolve) => {
          timer = setTimeout(() => void p.destroy().then(resolve, resolve), graceMs);
        });
        await Promise.race([p.close().catch(() => undefined), forced]);
        clearTimeout(timer);
      }),
    );
  }
}
