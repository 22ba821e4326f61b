/**
 * One keep-alive undici `Pool` per endpoint, keyed by endpoint id (two endpoints may share an origin and
 * still differ in TLS settings and connection limit), and the endpoint's connection limit (`connections`).
 * The limit is enforced here rather than by undici's queue: an attempt waiting for a free connection is
 * not connecting, so it runs on its own bounded timer (`timeouts.queue`) and a long wait is never taken
 * for a connect timeout that would eject a healthy but busy endpoint. Our own timers govern connect,
 * first-byte and idle time (undici's are coarse), so undici's are set only as loose backstops.
 */
import { Pool } from 'undici';
import type { Endpoint } from '../registry/endpoint.js';
import type { Attempt, SlotSource } from './attempt.js';
import { endpointConnect, type TlsFailureFn } from '../transport/tls-connect.js';

export interface UpstreamPoolOptions {
  readonly connectTimeout: number;
  /** Told about TLS failures toward an endpoint (the gateway logs them). */
  readonly onTlsFailure?: TlsFailureFn;
}

/** Idle upstream sockets are kept this long (not a config key: endpoints close idle sockets themselves). */
const UPSTREAM_KEEP_ALIVE_MS = 30_000;

/** Per endpoint: attempts holding a connection, and those waiting for one (FIFO, cancelled ones skipped). */
interface Slots {
  active: number;
  readonly waiting: Attempt[];
  /** Set while the endpoint is retired: called when its last slot is released. */
  idle?: () => void;
}

/**
 * Keyed by the endpoint object, not its id: after a reload replaces an endpoint (same id, new URL), the
 * old one's requests in flight keep their pool and slots, and the new one gets its own.
 */
export class UpstreamPools implements SlotSource {
  readonly #pools = new Map<Endpoint, Pool>();
  readonly #slots = new Map<Endpoint, Slots>();
  readonly #opts: UpstreamPoolOptions;

  constructor(opts: UpstreamPoolOptions) {
    this.#opts = opts;
  }

  /** The pool of `endpoint` (toward its origin), created on first use. */
  get(endpoint: Endpoint): Pool {
    let pool = this.#pools.get(endpoint);
    if (pool === undefined) {
      pool = new Pool(endpoint.origin, {
        connections: endpoint.connections > 0 ? endpoint.connections : null,
        pipelining: 1,
        keepAliveTimeout: UPSTREAM_KEEP_ALIVE_MS,
        keepAliveTimeoutThreshold: 1000,
        // Backstops only: the exchange runs precise timers of its own.
        connect: endpointConnect(endpoint, { timeout: this.#opts.connectTimeout + 1000, noDelay: true }, this.#opts.onTlsFailure),
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.#pools.set(endpoint, pool);
    }
    return pool;
  }

  /** Send `attempt.request` now if the endpoint has a free connection, else queue the attempt. */
  send(attempt: Attempt): void {
    const endpoint = attempt.endpoint;
    if (endpoint.connections <= 0) return this.#dispatch(attempt);
    const slots = this.#slotsOf(endpoint);
    if (slots.active < endpoint.connections) {
      slots.active++;
      return this.#dispatch(attempt);
    }
    slots.waiting.push(attempt);
    attempt.queued();
  }

  /** Whether every connection of `endpoint` is taken (attempts sent to it now would wait). */
  full(endpoint: Endpoint): boolean {
    return endpoint.connections > 0 && (this.#slots.get(endpoint)?.active ?? 0) >= endpoint.connections;
  }

  release(endpoint: Endpoint): void {
    if (endpoint.connections <= 0) return;
    const slots = this.#slotsOf(endpoint);
    let next = slots.waiting.shift();
    while (next !== undefined && !next.live) next = slots.waiting.shift();
    if (next === undefined) {
      if (--slots.active === 0) slots.idle?.();
    }
    // The slot passes straight to the next in line, once the finished request has let go of its socket.
    else queueMicrotask(() => this.#dispatch(next));
  }

  #dispatch(attempt: Attempt): void {
    const request = attempt.request;
    // Cancelled while the slot was on its way: hand it on.
    if (request === undefined || !attempt.live) return this.release(attempt.endpoint);
    attempt.sent(this);
    this.get(attempt.endpoint).dispatch(request, attempt);
  }

  #slotsOf(endpoint: Endpoint): Slots {
    let s = this.#slots.get(endpoint);
    if (s === undefined) this.#slots.set(endpoint, (s = { active: 0, waiting: [] }));
    return s;
  }

  /**
   * Let `endpoint` (removed by a config reload, already out of the picker) finish what it has: its
   * attempts waiting for a connection still get one, then its pool closes once its requests in flight
   * end, or is destroyed `graceMs` after this call. Resolves when the pool is gone.
   */
  async retire(endpoint: Endpoint, graceMs: number): Promise<void> {
    const started = performance.now();
    const slots = this.#slots.get(endpoint);
    if (slots !== undefined && (slots.active > 0 || slots.waiting.length > 0)) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        slots.idle = resolve;
        timer = setTimeout(resolve, graceMs);
        timer.unref();
      });
      clearTimeout(timer);
    }
    this.#slots.delete(endpoint);
    // The pool stays in the map while it closes: a gateway `close()` meanwhile closes it too.
    const pool = this.#pools.get(endpoint);
    if (pool !== undefined) await closePool(pool, Math.max(0, graceMs - (performance.now() - started)));
    this.#pools.delete(endpoint);
  }

  /** Close every pool, waiting for in-flight requests; `destroy` after `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => closePool(p, graceMs)));
  }
}

/** Close `pool` once its requests end; destroy it after `graceMs`. */
async function closePool(pool: Pool, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => void pool.destroy().then(resolve, resolve), graceMs);
  });
  await Promise.race([pool.close().catch(() => undefined), forced]);
  clearTimeout(timer);
}
