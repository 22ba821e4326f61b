/**
 * The Redis-backed store (ioredis): a publisher connection for commands (PUBLISH, snapshot refresh) and
 * a subscriber connection for the events channel `prefix + 'events'` and this gateway's heartbeat
 * channel. Redis being down, paused or failing over never blocks or fails a caller: commands are not
 * queued while disconnected, time out after `commandTimeout`, and are capped in flight; the store
 * reports `degraded`, reconnects with capped jittered back-off, resubscribes, and resyncs from the
 * snapshot, which every gateway rewrites on a fixed interval (so messages Redis dropped are healed).
 * Snapshot entries carry deadlines on the Redis server's clock (`snapshot.ts`); messages are signed
 * and checked with `state.secret` (`fleet-wire.ts`), and entries that fail the checks are deleted.
 */
import { silentLogger, type Logger } from '../telemetry/logger.js';
import type { TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { CommandGate } from './command-gate.js';
import { EventInbox } from './event-inbox.js';
import { isIntent, toFleetEvent, type FleetEvent } from './fleet-event.js';
import { FleetSigner } from './fleet-signer.js';
import { FleetCodec } from './fleet-wire.js';
import { HeartbeatMonitor } from './heartbeat.js';
import { ConnectionLog } from './connection-log.js';
import { createRedisClient, endClient, type RedisClient, type RedisConnectionConfig } from './redis-clients.js';
import { MAX_SNAPSHOT_ENTRIES, PUT_SCRIPT, REFRESH_SCRIPT, refreshArgs, snapshotField, toEntries, type SnapshotEntry } from './snapshot.js';
import {
  DEFAULT_REFRESH_INTERVAL_MS,
  errorText,
  type EventListener,
  type RecordBook,
  type RecordWrite,
  type SnapshotListener,
  type StateStore,
  type StateStoreOptions,
  type StateStoreStatus,
  storeStatus,
} from './state-store.js';

export interface RedisStoreOptions extends StateStoreOptions {
  readonly redis: RedisConnectionConfig;
  readonly random: Random;
  /** The timings below come from `state.redis` in the config schema, which owns their defaults. */
  readonly connectTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Own heartbeat missing this long → subscriber reconnected; no reply this long → publisher too. */
  readonly heartbeatTimeoutMs: number;
  /** How long `start()` waits for the first snapshot before going on degraded. */
  readonly startTimeoutMs: number;
  /** Commands awaiting a reply above which publishes are dropped. */
  readonly maxInFlight: number;
  /** Reconnect back-off cap. */
  readonly maxReconnectDelayMs: number;
  /** Where connection transitions are logged (see `ConnectionLog`); default: nowhere. */
  readonly logger?: Logger;
}

export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly #o: RedisStoreOptions;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #inbox: EventInbox;
  readonly #codec: FleetCodec;
  readonly #hb: HeartbeatMonitor;
  readonly #gate: CommandGate;
  readonly #channel: string;
  readonly #hbChannel: string;
  readonly #key: string;
  readonly #connLog: ConnectionLog;
  #timer: TimerHandle | undefined;
  #started = false;
  #closed = false;
  #subscribed = false;
  #syncFailed = true;
  #refreshing: Promise<readonly FleetEvent[] | undefined> | undefined;
  #again = false;
  #published = 0;
  #dropped = 0;
  #lastError: string | undefined;
  #lastSyncAt: number | undefined;
  #firstSync: () => void = () => {};
  /** An error was recorded since the store was last healthy: keep that root cause, not its echoes. */
  #incident = false;

  constructor(opts: RedisStoreOptions) {
    this.#o = opts;
    const prefix = opts.redis.keyPrefix;
    this.#channel = `${prefix}events`;
    this.#hbChannel = `${prefix}heartbeat:${opts.gatewayId}`;
    this.#key = `${prefix}snapshot`;
    this.#connLog = new ConnectionLog(opts.logger ?? silentLogger, opts.clock);
    const clientOpts = {
      random: opts.random,
      gatewayId: opts.gatewayId,
      connectTimeoutMs: opts.connectTimeoutMs,
      maxReconnectDelayMs: opts.maxReconnectDelayMs,
    };
    this.#pub = createRedisClient(opts.redis, 'publisher', clientOpts);
    this.#sub = createRedisClient(opts.redis, 'subscriber', clientOpts);
    this.#codec = new FleetCodec(new FleetSigner(opts.secret), opts.clock);
    this.#inbox = new EventInbox(opts.gatewayId, this.#codec, (err) => this.#error(`listener: ${errorText(err)}`));
    this.#hb = new HeartbeatMonitor({
      clock: opts.clock,
      intervalMs: opts.heartbeatIntervalMs,
      timeoutMs: opts.heartbeatTimeoutMs,
      send: () => this.#sendHeartbeat(),
      onSilent: () => {
        this.#error('heartbeat: own heartbeat not received; reconnecting subscriber');
        this.#checkHealth();
        if (this.#sub.status === 'ready') this.#sub.disconnect(true);
      },
    });
    this.#gate = new CommandGate({
      clock: opts.clock,
      maxInFlight: opts.maxInFlight,
      stallMs: opts.heartbeatTimeoutMs,
      onError: (text) => this.#error(text),
      onStall: () => {
        if (this.#pub.status === 'ready') this.#pub.disconnect(true);
      },
    });
    for (const [client, role] of [
      [this.#pub, 'publisher'],
      [this.#sub, 'subscriber'],
    ] as const) {
      client.on('error', (err: unknown) => this.#error(`${role}: ${errorText(err)}`));
      client.on('close', () => {
        if (role === 'subscriber') this.#subscribed = false;
        if (this.#closed) return;
        this.#error(`${role}: connection closed`);
        this.#connLog.down(role, this.#lastError);
        this.#checkHealth();
      });
      client.on('ready', () => this.#connLog.up(role));
    }
    this.#pub.on('ready', () => {
      this.#gate.answered();
      void this.refresh();
    });
    this.#sub.on('ready', () => this.#subscribe());
    this.#sub.on('message', (channel: string, message: string) => {
      if (channel === this.#hbChannel) {
        this.#hb.heard();
        this.#checkHealth(); // a heartbeat heard again ends a silent period
      }
      else if (channel === this.#channel) this.#inbox.message(message);
    });
  }

  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const first = new Promise<void>((resolve) => (this.#firstSync = resolve));
    this.#pub.connect().catch(() => {}); // failures surface as 'error' events; reconnects continue
    this.#sub.connect().catch(() => {});
    this.#hb.start();
    const every = this.#o.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    this.#timer = this.#o.clock.setInterval(() => {
      if (!this.#refreshing) void this.refresh();
    }, every);
    this.#timer.unref();
    let timeout: TimerHandle | undefined;
    await Promise.race([
      first,
      new Promise<void>((resolve) => (timeout = this.#o.clock.setTimeout(resolve, this.#o.startTimeoutMs))),
    ]);
    this.#o.clock.clearTimeout(timeout);
  }

  publish(event: FleetEvent): void {
    const valid = toFleetEvent(event);
    if (!valid || valid.gatewayId !== this.#o.gatewayId) {
      this.#dropped++;
      this.#error('publish: invalid event or foreign gatewayId');
      return;
    }
    if (this.#closed || this.#pub.status !== 'ready' || this.#gate.full()) {
      this.#dropped++;
      return;
    }
    const { raw, ttl } = this.#codec.encode(valid);
    // Same connection, so Redis records the snapshot field before subscribers see the message.
    this.#gate.send('publish', this.#pub.eval(PUT_SCRIPT, 1, this.#key, snapshotField(valid), String(ttl), raw));
    this.#gate.send('publish', this.#pub.publish(this.#channel, raw), (ok) => (ok ? this.#published++ : this.#dropped++));
  }

  onEvent(fn: EventListener): () => void {
    return this.#inbox.onEvent(fn);
  }

  onSnapshot(fn: SnapshotListener): () => void {
    return this.#inbox.onSnapshot(fn);
  }

  /** Coalesced: a call during a refresh runs one more right after it (a reconnect must resync). */
  refresh(): Promise<readonly FleetEvent[] | undefined> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    const run = async (): Promise<readonly FleetEvent[] | undefined> => {
      let result: readonly FleetEvent[] | undefined;
      do {
        this.#again = false;
        result = await this.#refreshOnce();
      } while (this.#again && !this.#closed);
      return result;
    };
    this.#refreshing = run().finally(() => {
      this.#refreshing = undefined;
      this.#checkHealth(); // a failed or restored sync may change whether the store is degraded
    });
    return this.#refreshing;
  }

  /** The same script as the snapshot refresh, on the book's own hash (`prefix + book`). */
  async exchangeRecords(book: RecordBook, own: RecordWrite | undefined): Promise<readonly SnapshotEntry[] | undefined> {
    if (this.#closed || this.#pub.status !== 'ready' || this.#gate.full()) return undefined;
    const args = [this.#o.gatewayId, String(MAX_SNAPSHOT_ENTRIES)];
    if (own !== undefined) args.push(own.field, String(own.ttl), own.raw);
    try {
      return toEntries(await this.#gate.run(book, this.#pub.eval(REFRESH_SCRIPT, 1, `${this.#o.redis.keyPrefix}${book}`, ...args)));
    } catch {
      return undefined; // recorded by the gate
    }
  }

  async claim(key: string, ttlMs: number): Promise<boolean | undefined> {
    if (this.#closed || this.#pub.status !== 'ready' || this.#gate.full()) return undefined;
    try {
      const reply = await this.#gate.run('claim', this.#pub.set(`${this.#o.redis.keyPrefix}claim:${key}`, this.#o.gatewayId, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'));
      return reply === 'OK';
    } catch {
      return undefined; // recorded by the gate
    }
  }

  status(): StateStoreStatus {
    const connected = !this.#closed && this.#pub.status === 'ready' && this.#sub.status === 'ready' && this.#subscribed;
    return storeStatus('redis', connected, !connected || this.#syncFailed || this.#hb.silent(), {
      lastError: this.#lastError,
      published: this.#published,
      dropped: this.#dropped,
      inbox: this.#inbox,
      signed: this.#codec.signed,
      lastSyncAt: this.#lastSyncAt,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.clock.clearInterval(this.#timer);
    this.#timer = undefined;
    this.#hb.close();
    this.#inbox.clear();
    this.#firstSync();
    await Promise.all([endClient(this.#pub, this.#o.clock), endClient(this.#sub, this.#o.clock)]);
  }

  async #refreshOnce(): Promise<readonly FleetEvent[] | undefined> {
    if (this.#closed || this.#pub.status !== 'ready') {
      this.#syncFailed = true;
      return undefined;
    }
    let local: readonly FleetEvent[];
    try {
      local = this.#o.localEvents().filter((e) => e.gatewayId === this.#o.gatewayId && !isIntent(e) && toFleetEvent(e));
    } catch (err) {
      this.#error(`localEvents: ${errorText(err)}`);
      return undefined;
    }
    const since = this.#o.clock.now();
    const subscribedBefore = this.#subscribed;
    let reply: unknown;
    try {
      const args = refreshArgs(local, this.#o.gatewayId, (e) => this.#codec.encode(e));
      reply = await this.#gate.run('refresh', this.#pub.eval(REFRESH_SCRIPT, 1, this.#key, ...args));
    } catch {
      this.#syncFailed = true; // recorded by the gate
      return undefined;
    }
    if (this.#closed) return undefined;
    const entries = toEntries(reply);
    if (entries === undefined) {
      this.#syncFailed = true;
      this.#error('refresh: unexpected snapshot reply');
      return undefined;
    }
    this.#syncFailed = false;
    this.#lastSyncAt = since;
    if (this.status().connected && !this.#hb.silent()) this.#incident = false;
    const { events, bad } = this.#inbox.snapshot(entries, since);
    // Forged or broken entries go, so each is counted once rather than at every refresh.
    if (bad.length > 0 && !this.#gate.full()) this.#gate.send('refresh', this.#pub.hdel(this.#key, ...bad));
    if (subscribedBefore) this.#firstSync();
    return events;
  }

  #subscribe(): void {
    this.#sub.subscribe(this.#channel, this.#hbChannel).then(
      () => {
        if (this.#closed) return;
        this.#subscribed = true;
        this.#hb.reset();
        void this.refresh(); // resync: messages published while we were away are in the snapshot
      },
      (err: unknown) => (this.#error(`subscribe: ${errorText(err)}`)),
    );
  }

  #sendHeartbeat(): boolean {
    if (this.#closed || this.#pub.status !== 'ready') return false;
    this.#gate.send('heartbeat', this.#pub.publish(this.#hbChannel, String(this.#o.clock.now())));
    return true;
  }

  /** Log a change of degraded state (once per transition). */
  #checkHealth(): void {
    if (this.#closed) return;
    this.#connLog.health(this.status().degraded, this.#lastError);
  }

  #error(text: string): void {
    if (this.#incident) return;
    this.#incident = true;
    this.#lastError = text;
  }
}
