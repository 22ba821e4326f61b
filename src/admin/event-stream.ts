/**
 * Server-sent events for the dashboard (`GET /admin/events`, text/event-stream per the HTML Living
 * Standard §9.2). Every stream gets a `snapshot` event at once and then at a fixed cadence, `timeline`
 * events as they happen, and a comment line as a heartbeat so proxies and the page can tell a quiet stream
 * from a dead one. Bounded on every side: at most `maxClients` streams (503 beyond), nothing is queued
 * for a slow reader (an event is skipped while its socket still holds `maxBufferedBytes`; a reader that
 * stays that far behind for `maxSkips` events in a row is cut), the snapshot timer runs only while a
 * stream is open, and `close()` ends every stream and refuses new ones (admin close, gateway drain).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ADMIN_HEADERS, sendRefusal } from './admin-http.js';

export interface EventStreamOptions {
  readonly clock: Clock;
  /** The `snapshot` event's data, built once per tick for every stream. */
  readonly snapshot: () => unknown;
  readonly intervalMs?: number;
  readonly heartbeatMs?: number;
  readonly maxClients?: number;
  readonly maxBufferedBytes?: number;
  readonly maxSkips?: number;
  /** A snapshot that could not be built (logged by the owner; the streams stay open). */
  readonly onError?: (err: unknown) => void;
}

export const EVENT_STREAM_DEFAULTS = {
  intervalMs: 1000,
  heartbeatMs: 15_000,
  maxClients: 16,
  maxBufferedBytes: 256 * 1024,
  maxSkips: 30,
  onError: () => {},
} as const;

interface Client {
  readonly res: ServerResponse;
  skips: number;
}

export class EventStream {
  readonly #o: Required<EventStreamOptions>;
  readonly #clients = new Set<Client>();
  #tick: TimerHandle | undefined;
  #heartbeat: TimerHandle | undefined;
  #closed = false;
  /** Events not written to a slow reader, since start (shown in the snapshot). */
  skipped = 0;

  constructor(opts: EventStreamOptions) {
    this.#o = { ...EVENT_STREAM_DEFAULTS, ...opts };
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Answer `req` with a stream (or a 503 when full or closed). */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed) return sendRefusal(res, { status: 503, code: 'RG_ADMIN_UNAVAILABLE', message: 'the gateway is shutting down' });
    if (this.#clients.size >= this.#o.maxClients)
      return sendRefusal(res, { status: 503, code: 'RG_ADMIN_UNAVAILABLE', message: `too many event streams (at most ${this.#o.maxClients}); close another dashboard` });
    res.writeHead(200, { ...ADMIN_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // An SSE stream is long-lived by design: no request timeout for this one socket.
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    const client: Client = { res, skips: 0 };
    this.#clients.add(client);
    res.on('close', () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stopTimers();
    });
    res.write(`retry: ${this.#o.intervalMs * 2}\n\n`);
    this.#send(client, frame('snapshot', this.#o.snapshot()));
    this.#startTimers();
  }

  /** Push one event to every stream now. */
  publish(event: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    const text = frame(event, data);
    for (const c of this.#clients) this.#send(c, text);
  }

  /** End every stream and refuse new ones. */
  close(): void {
    this.#closed = true;
    this.#stopTimers();
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  #send(c: Client, text: string): void {
    if (c.res.writableLength >= this.#o.maxBufferedBytes) {
      this.skipped++;
      if (++c.skips >= this.#o.maxSkips) c.res.destroy();
      return;
    }
    c.skips = 0;
    c.res.write(text);
  }

  #startTimers(): void {
    if (this.#tick) return;
    this.#tick = this.#o.clock.setInterval(() => {
      try {
        this.publish('snapshot', this.#o.snapshot());
      } catch (err) {
        this.#o.onError(err);
      }
    }, this.#o.intervalMs);
    this.#heartbeat = this.#o.clock.setInterval(() => {
      for (const c of this.#clients) this.#send(c, ': heartbeat\n\n');
    }, this.#o.heartbeatMs);
    this.#tick.unref();
    this.#heartbeat.unref();
  }

  #stopTimers(): void {
    this.#o.clock.clearInterval(this.#tick);
    this.#o.clock.clearInterval(this.#heartbeat);
    this.#tick = undefined;
    this.#heartbeat = undefined;
  }
}

/** One event; JSON has no raw newlines, so one `data:` line carries it. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
