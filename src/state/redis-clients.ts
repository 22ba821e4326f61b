/**
 * Builds the ioredis clients of a `RedisStore` from config: standalone (URL), Sentinel (`sentinels` +
 * `sentinelName`) or Cluster (`cluster` nodes). Every option here exists so that nothing piles up
 * while Redis is slow or gone: no offline queue for commands, a command timeout, no resending of
 * unanswered commands, and capped, jittered reconnects that never give up.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';

export interface RedisHostPort {
  readonly host: string;
  readonly port: number;
}

/** `state.redis` of the config. */
export interface RedisConnectionConfig {
  readonly url: string;
  readonly keyPrefix: string;
  readonly sentinels?: readonly RedisHostPort[];
  readonly sentinelName?: string;
  readonly sentinelPassword?: string;
  readonly cluster?: readonly RedisHostPort[];
  readonly commandTimeout: number;
}

/** The two client shapes a store may hold; both expose the commands and events a store uses. */
export type RedisClient = Redis | Cluster;

/** `publisher` runs commands (publish, snapshot); `subscriber` only listens. */
export type ClientRole = 'publisher' | 'subscriber';

export interface ClientOptions {
  readonly random: Random;
  readonly gatewayId: string;
  readonly connectTimeoutMs: number;
  /** Reconnect back-off cap. */
  readonly maxReconnectDelayMs: number;
}

/** Capped exponential back-off with ±20 % jitter: min(50·2^attempt, cap). */
export function reconnectDelay(attempt: number, random: Random, capMs: number, baseMs = 50): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
  return Math.max(1, Math.round(exp * (0.8 + 0.4 * random())));
}

interface UrlParts {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

/** Split a `redis://` / `rediss://` URL (credentials are URL-decoded). */
export function parseRedisUrl(url: string): UrlParts {
  const u = new URL(url);
  const db = Number(u.pathname.replace(/^\//, '') || '0');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username && { username: decodeURIComponent(u.username) }),
    ...(u.password && { password: decodeURIComponent(u.password) }),
    db: Number.isInteger(db) && db >= 0 ? db : 0,
    tls: u.protocol === 'rediss:',
  };
}

function connectionName(gatewayId: string, role: ClientRole): string {
  return `regiongate:${gatewayId.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 100)}:${role}`;
}

/** Options shared by every connection (standalone, Sentinel master, cluster node). */
function baseOptions(cfg: RedisConnectionConfig, role: ClientRole, opts: ClientOptions): RedisOptions {
  const { username, password, db, tls } = parseRedisUrl(cfg.url);
  return {
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(tls && { tls: {} }),
    db,
    lazyConnect: true,
    connectTimeout: opts.connectTimeoutMs,
    // Also bounds the ready check, so a paused server (SIGSTOP) fails the handshake instead of hanging.
    commandTimeout: cfg.commandTimeout,
    // In-flight commands fail when the connection drops; nothing is replayed later.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: true,
    enableReadyCheck: true,
    // A socket to a paused server never closes by itself after QUIT/FIN; destroy it soon.
    disconnectTimeout: 500,
    // A master demoted by a failover answers writes with READONLY: reconnect to find the new one.
    reconnectOnError: (err: Error) => /READONLY/.test(err.message),
    disableClientInfo: true,
    connectionName: connectionName(opts.gatewayId, role),
  };
}

/**
 * A new, not yet connected client (`lazyConnect`). The publisher has no offline queue: a command
 * issued while disconnected fails at once. The subscriber keeps its queue, which only ever holds the
 * one SUBSCRIBE a store sends on each `ready`.
 */
export function createRedisClient(cfg: RedisConnectionConfig, role: ClientRole, opts: ClientOptions): RedisClient {
  const base = baseOptions(cfg, role, opts);
  const offlineQueue = role === 'subscriber';
  const delay = (times: number): number => reconnectDelay(times, opts.random, opts.maxReconnectDelayMs);
  if (cfg.cluster && cfg.cluster.length > 0) {
    const { db: _db, ...redisOptions } = base;
    const clusterOptions: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: offlineQueue,
      enableReadyCheck: true,
      clusterRetryStrategy: delay,
      slotsRefreshTimeout: Math.max(1000, cfg.commandTimeout * 4),
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      maxRedirections: 4,
      redisOptions,
    };
    return new Cluster(
      cfg.cluster.map((n) => ({ host: n.host, port: n.port })),
      clusterOptions,
    );
  }
  if (cfg.sentinels && cfg.sentinels.length > 0) {
    return new Redis({
      ...base,
      sentinels: cfg.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: cfg.sentinelName ?? 'mymaster',
      ...(cfg.sentinelPassword !== undefined && { sentinelPassword: cfg.sentinelPassword }),
      enableOfflineQueue: offlineQueue,
      retryStrategy: delay,
      sentinelRetryStrategy: delay,
      // No `failoverDetector`: its sentinel connections outlive close() by ioredis's fixed 2 s
      // disconnect timeout. A failover is seen anyway: a dead master closes the socket, a silent one
      // trips the heartbeat, and a demoted one answers READONLY (below), each of which reconnects
      // through the sentinels to the new master.
    });
  }
  const { host, port } = parseRedisUrl(cfg.url);
  return new Redis({ ...base, host, port, enableOfflineQueue: offlineQueue, retryStrategy: delay });
}

/** Disconnect `client` for good and resolve once it has ended (or after `waitMs` at most). */
export function endClient(client: RedisClient, clock: Clock, waitMs = 2000): Promise<void> {
  // Without an open socket (never connected, or between reconnect attempts) ioredis emits no 'end':
  // disconnect() only cancels the pending reconnect, and nothing is left to wait for.
  const idle = (): boolean => ['wait', 'close', 'reconnecting', 'end'].includes(client.status);
  if (client.status === 'end') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clock.clearTimeout(timer);
      resolve();
    };
    // Kept referenced: a caller awaiting close() must not see the process exit under it.
    const timer = clock.setTimeout(done, waitMs);
    client.once('end', done);
    const wasIdle = idle();
    client.disconnect();
    if (wasIdle) done();
  });
}
