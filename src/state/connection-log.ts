/**
 * Logs the Redis store's connection changes once per transition, not per error or retry: a client
 * (publisher or subscriber) that lost its connection, the same client back, and the store's degraded
 * periods (with how long each lasted). A reconnect loop against a dead Redis is one line, not one per
 * attempt; the counters and `status()` still show the detail.
 */
import { LOG_EVENT } from '../telemetry/names.js';
import type { Logger } from '../telemetry/logger.js';
import type { Clock } from '../util/clock.js';

export type RedisRole = 'publisher' | 'subscriber';

export class ConnectionLog {
  readonly #log: Logger;
  readonly #clock: Clock;
  /** When each client went down; absent = up (or not yet connected once). */
  readonly #downSince = new Map<RedisRole, number>();
  /** When the store became degraded after being healthy; undefined = healthy or never healthy yet. */
  #degradedSince: number | undefined;
  #healthyOnce = false;

  constructor(log: Logger, clock: Clock) {
    this.#log = log;
    this.#clock = clock;
  }

  /** `role` lost its connection (or could not make it); `reason` is the store's last error. */
  down(role: RedisRole, reason: string | undefined): void {
    if (this.#downSince.has(role)) return;
    this.#downSince.set(role, this.#clock.now());
    this.#log.warn(LOG_EVENT.redisDisconnected, { role, reason });
  }

  /** `role` is connected and ready. */
  up(role: RedisRole): void {
    const since = this.#downSince.get(role);
    if (since === undefined) return;
    this.#downSince.delete(role);
    this.#log.info(LOG_EVENT.redisReconnected, { role, downMs: this.#clock.now() - since });
  }

  /** The store's health now; logs only a change. Degraded before the first healthy moment is not a transition. */
  health(degraded: boolean, reason: string | undefined): void {
    if (!degraded) {
      this.#healthyOnce = true;
      if (this.#degradedSince === undefined) return;
      const ms = this.#clock.now() - this.#degradedSince;
      this.#degradedSince = undefined;
      this.#log.info(LOG_EVENT.storeRecovered, { degradedMs: ms });
      return;
    }
    if (!this.#healthyOnce || this.#degradedSince !== undefined) return;
    this.#degradedSince = this.#clock.now();
    this.#log.warn(LOG_EVENT.storeDegraded, { reason });
  }
}
