/**
 * A simulated OpenAI-compatible regional endpoint on a real port: base latency, time to first token and
 * token pace, a served-model list, and fault modes switchable at run time (see `fault.ts`). Used by the
 * demo, tests, fire drills and benchmarks. Every socket and timer it opens is released by `close()`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CapacityModel, type SimLoadReport } from './capacity.js';
import { NO_FAULT, toFault, type Fault } from './fault.js';
import { faultVerdict, type FaultVerdict } from './fault-verdict.js';
import { baseUrl, closeServer, listen, SocketTracker } from '../util/listener.js';
import { readBody, resetConnection, sendJson, type SimExchange, type SimProfile } from './sim-exchange.js';
import { resolveProfile, type RegionSimulatorOptions, type SimStats } from './sim-options.js';
import { routeRequest } from './sim-routes.js';
import { TimerSet } from './timer-set.js';
import { handleUpgrade } from './upgrade-echo.js';

export type { RegionSimulatorOptions, SimRequestRecord, SimStats } from './sim-options.js';

/** Keep idle connections longer than any client pool does, so the client always closes first. */
const KEEP_ALIVE_TIMEOUT_MS = 70_000;
const RELISTEN_ATTEMPTS = 40;
const RELISTEN_BACKOFF_MS = 25;

function splitTarget(target: string): [path: string, query: string] {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  const rest = authority ? target.slice(authority[0].length) || '/' : target;
  const q = rest.indexOf('?');
  return q < 0 ? [rest, ''] : [rest.slice(0, q), rest.slice(q + 1)];
}

function affected(verdict: FaultVerdict): boolean {
  return verdict.kind !== 'pass' || verdict.delayMs > 0 || verdict.resetAfter !== undefined;
}

export class RegionSimulator {
  readonly name: string;
  readonly provider: string | undefined;
  readonly host: string;
  readonly profile: SimProfile;
  readonly #random: () => number;
  readonly #server: Server;
  readonly #sockets = new SocketTracker();
  readonly #timers = new TimerSet();
  readonly #capacity: CapacityModel;
  #port: number;
  #fault: Readonly<Fault> = NO_FAULT;
  #stats: SimStats = RegionSimulator.#emptyStats();
  #seq = 0;
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Listener transitions (down / up) run one after another. */
  #transition: Promise<void> = Promise.resolve();

  constructor(options: RegionSimulatorOptions) {
    this.profile = resolveProfile(options);
    this.name = options.name;
    this.provider = options.provider;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#random = options.random ?? Math.random;
    this.#capacity = new CapacityModel(this.profile.capacity, this.profile.kvPerSequence);
    this.#server = createServer({ noDelay: true }, (req, res) => this.#onRequest(req, res));
    this.#server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    this.#sockets.track(this.#server);
  }

  static #emptyStats(): SimStats {
    return { requests: 0, byPath: {}, upgrades: 0, faulted: 0 };
  }

  /** Listen; resolves the base URL (`http://127.0.0.1:PORT`). A `down` fault set before takes effect after. */
  async start(): Promise<string> {
    if (this.#closed) throw new Error(`simulator ${this.name} is closed`);
    if (this.#started) return this.url;
    this.#port = await listen(this.#server, this.#port, this.host);
    if (this.#closed) {
      await closeServer(this.#server, this.#sockets);
      throw new Error(`simulator ${this.name} was closed while starting`);
    }
    this.#started = true;
    await this.#sync();
    return this.url;
  }

  get url(): string {
    return baseUrl(this.host, this.#port);
  }

  /** The bound port (kept across `down` faults). */
  get port(): number {
    return this.#port;
  }

  /** True while connections are accepted. */
  get listening(): boolean {
    return this.#server.listening;
  }

  get fault(): Readonly<Fault> {
    return this.#fault;
  }

  /**
   * Switch the fault (validated; rejects with a `TypeError` on bad input). Resolves once the listener matches it:
   * stopped under `down`, listening again on the same port otherwise.
   */
  setFault(fault: Fault): Promise<void> {
    try {
      this.#fault = toFault(fault);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#sync();
  }

  /** A copy of the counters. */
  get stats(): SimStats {
    return { ...this.#stats, byPath: { ...this.#stats.byPath } };
  }

  /** The load `/metrics` reports now (real, or pinned by `setLoadReport`). */
  get load(): SimLoadReport {
    return this.#capacity.report();
  }

  /**
   * Pin what `/metrics` reports, whatever the real load; 'unavailable' answers `/metrics` 503 (other
   * requests unaffected); undefined reports the real load again.
   */
  setLoadReport(report: SimLoadReport | 'unavailable' | undefined): void {
    this.#capacity.setOverride(report);
  }

  resetStats(): void {
    this.#stats = RegionSimulator.#emptyStats();
  }

  /** Stop listening, destroy every socket, clear every timer. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#timers.clear();
    this.#capacity.clear();
    this.#closing = this.#transition.then(() => closeServer(this.#server, this.#sockets));
    return this.#closing;
  }

  #sync(): Promise<void> {
    const run = this.#transition.then(() => this.#syncListener());
    this.#transition = run.catch(() => undefined);
    return run;
  }

  async #syncListener(): Promise<void> {
    if (!this.#started || this.#closed) return;
    const down = this.#fault.mode === 'down';
    if (down && this.#server.listening) await closeServer(this.#server, this.#sockets);
    if (down || this.#server.listening) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await listen(this.#server, this.#port, this.host);
        return;
      } catch (err) {
        const retry = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < RELISTEN_ATTEMPTS;
        if (!retry) throw err;
        if (!(await this.#timers.sleep(RELISTEN_BACKOFF_MS))) return;
      }
    }
  }

  #record(req: IncomingMessage, path: string, body: string): void {
    const stats = this.#stats;
    stats.requests++;
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
    stats.lastRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: { ...req.headers }, body };
  }

  #verdict(): FaultVerdict {
    const verdict = faultVerdict(this.#fault, this.#random, this.name);
    if (affected(verdict)) this.#stats.faulted++;
    return verdict;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) sendJson500(res);
      else res.destroy();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-sim-region', this.name);
    const [path, query] = splitTarget(req.url ?? '/');
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return;
    }
    this.#record(req, path, body.toString('utf8'));
    if (this.#closed) return;
    const verdict = this.#verdict();
    if (verdict.kind === 'reset') return resetConnection(req.socket);
    if (verdict.kind === 'hang') return;
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const ex: SimExchange = {
      req,
      res,
      method: req.method ?? 'GET',
      path,
      query,
      body,
      profile: this.profile,
      seq: ++this.#seq,
      capacity: this.#capacity,
      signal: gone.signal,
      resetAfter: verdict.kind === 'pass' ? verdict.resetAfter : undefined,
      sleep: (ms) => this.#timers.sleep(ms, gone.signal),
    };
    const delay = this.profile.latencyMs + (verdict.kind === 'pass' ? verdict.delayMs : 0);
    if (!(await ex.sleep(delay))) return;
    if (verdict.kind === 'answer') return sendJson(ex, verdict.status, verdict.body, verdict.headers);
    await routeRequest(ex);
  }

  #onUpgrade(req: IncomingMessage, duplex: Duplex, head: Buffer): void {
    // An upgraded connection is the net.Socket the server accepted (already tracked for close()).
    const socket = duplex as Socket;
    this.#record(req, splitTarget(req.url ?? '/')[0], '');
    this.#stats.upgrades++;
    if (this.#closed) return void socket.destroy();
    const ctx = {
      profile: this.profile,
      verdict: this.#verdict(),
      sleep: (ms: number, signal: AbortSignal) => this.#timers.sleep(ms, signal),
    };
    handleUpgrade(req, socket, head, ctx).catch(() => socket.destroy());
  }
}

function sendJson500(res: ServerResponse): void {
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: 'simulator failure', type: 'server_error', param: null, code: null } }));
}
