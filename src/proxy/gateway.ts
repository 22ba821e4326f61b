/**
 * The gateway's HTTP listener: limits on clients, `/healthz` and `/readyz` for load balancers, an
 * `Exchange` per proxied request, WebSocket tunnels, and a graceful drain. Methods, framing and paths
 * are checked (and paths normalised) first, for plain requests and upgrades alike (`edge-checks.ts`).
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { modelInPath, modelObject, type ModelCatalog } from '../catalog/model-catalog.js';
import type { GatewayConfig, ListenTlsConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { AttemptObserver } from '../health/attempt-outcome.js';
import type { Picker } from '../routing/picker.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import type { RequestTracer } from '../telemetry/request-tracer.js';
import { BodyBudget } from './body-budget.js';
import { onClientError } from './client-errors.js';
import { ALLOWED_METHODS, edgeRefusal } from './edge-checks.js';
import { sendError } from './error-response.js';
import { Exchange, type ExchangeDeps } from './exchange.js';
import type { RetryGate } from '../routing/attempt-plan.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { ExchangeOptions } from './exchange-deps.js';
import type { AttemptPlanOptions } from '../routing/attempt-plan.js';
import type { Endpoint } from '../registry/endpoint.js';
import { compileTrustProxy } from './forwarded.js';
import { sendRawError } from './raw-response.js';
import { requestRegions } from './request-info.js';
import { UpstreamPools } from './upstream-pools.js';
import { UpgradeProxy } from './upgrade.js';
import type { TlsFailureFn } from '../transport/tls-connect.js';
import { ListenerTls, type ListenerCertificate } from './listener-tls.js';
import { H2Listener } from './h2-listener.js';
import type { Http2SecureServer } from 'node:http2';
import type { FaultDraw } from '../fault/fault-injector.js';

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly picker: Picker;
  readonly observer?: AttemptObserver;
  readonly retryGate?: RetryGate;
  /** Times each request's deadline and hedges (the system clock unless a test injects one). */
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Models and regions: local `/v1/models` answers, and 400/404 for unknown regions and models (off when undefined). */
  readonly catalog?: ModelCatalog;
  /** OpenTelemetry spans per request and attempt (off when undefined). */
  readonly tracer?: RequestTracer;
  /** Called once per proxied request when it ends, with the status and the gateway error code if any. */
  readonly onRequestEnd?: (status: number, code: string | undefined, exchange: Exchange) => void;
  /** Told about TLS failures toward an endpoint (requests and tunnels). */
  readonly onTlsFailure?: TlsFailureFn;
  /** A drill's injected faults, drawn per attempt before it is sent. */
  readonly faults?: FaultDraw;
}

export class Gateway {
  /** Plain HTTP, or HTTPS with `listen.tls` (same request handling: `https.Server` is an `http.Server` over TLS). */
  readonly server: Server | HttpsServer | Http2SecureServer;
  /** With `listen.http2`: the HTTP/2 listener's sessions and sockets. */
  readonly #h2: H2Listener | undefined;
  /** The listener's certificate files (undefined: plain HTTP). */
  readonly #tls: ListenerTls | undefined;
  #config: GatewayConfig;
  readonly #picker: Picker;
  readonly #pools: UpstreamPools;
  readonly #upgrades: UpgradeProxy;
  #deps: ExchangeDeps;
  readonly #trust: ExchangeOptions['trust'];
  /**
   * Requests in flight: a count, not a Set of exchanges. A Set churned at request rate makes V8 keep
   * every rehashed table (and the exchanges in it) alive through scavenges once one was promoted,
   * which tripled GC time under sustained load.
   */
  #inflight = 0;
  readonly #log: Logger;
  readonly #catalog: ModelCatalog | undefined;
  readonly #onRequestEnd: ((status: number, code: string | undefined, exchange: Exchange) => void) | undefined;
  #draining = false;
  #url = '';
  /** Client connections open now (upgraded tunnels included): a count, for the same reason as `#inflight`. */
  #connections = 0;
  /** Aborted by `close()`: a drain in progress stops waiting and cuts what is left. */
  readonly #cut = new AbortController();

  constructor(opts: GatewayOptions) {
    const cfg = opts.config;
    this.#config = cfg;
    this.#picker = opts.picker;
    this.#log = opts.logger ?? silentLogger;
    this.#catalog = opts.catalog;
    this.#onRequestEnd = opts.onRequestEnd;
    this.#pools = new UpstreamPools({ connectTimeout: cfg.timeouts.connect, onTlsFailure: opts.onTlsFailure });
    const trust = compileTrustProxy(cfg.listen.trustProxy);
    this.#upgrades = new UpgradeProxy({
      picker: opts.picker,
      trust,
      modelRequired: cfg.routing.rules.some((r) => r.model !== undefined),
      connectTimeout: cfg.timeouts.connect,
      // A handshake answers at once, like a stream's first token: the streamed limit unless one is set for all.
      handshakeTimeout: cfg.timeouts.firstByte ?? cfg.timeouts.firstByteStream,
      idleTimeout: cfg.timeouts.idle,
      onTlsFailure: opts.onTlsFailure,
    });
    this.#trust = trust;
    this.#deps = {
      pools: this.#pools,
      plan: {
        clock: opts.clock ?? systemClock,
        picker: opts.picker,
        retryGate: opts.retryGate,
        options: planOptions(cfg),
      },
      observer: opts.observer,
      faults: opts.faults,
      bodyBudget: new BodyBudget(cfg.limits.bufferedBytes),
      logger: this.#log,
      tracer: opts.tracer,
      catalog: opts.catalog,
      options: exchangeOptions(cfg, trust),
      onDone: this.#onExchangeDone,
    };
    const t = cfg.timeouts;
    const http: ServerOptions = {
      maxHeaderSize: cfg.limits.headerBytes,
      headersTimeout: t.clientHeaders,
      requestTimeout: t.clientRequest,
      keepAliveTimeout: t.keepAlive,
      // Node sweeps for slow clients on this interval: a tenth of the shortest limit keeps them precise.
      connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.min(t.clientHeaders, t.clientRequest) / 10)),
      noDelay: true,
    };
    // Throws ConfigError naming `listen.tls.*` when a file is bad: before anything listens.
    this.#tls = cfg.listen.tls === undefined ? undefined : new ListenerTls(cfg.listen.tls);
    if (this.#tls === undefined) {
      this.#h2 = undefined;
      this.server = createServer(http, this.#onRequest);
    } else {
      // A client that stalls its handshake is held no longer than one that stalls its headers.
      const tls = { ...this.#tls.serverOptions(), handshakeTimeout: t.clientHeaders };
      // Nothing in flight stays silent past the whole-request limit; an idle session also gets its keep-alive.
      this.#h2 = cfg.listen.http2 ? new H2Listener(http, tls, Math.max(t.keepAlive, t.request), this.#onRequest) : undefined;
      const server = this.#h2?.server ?? createHttpsServer({ ...http, ...tls }, this.#onRequest);
      this.#tls.attach(server);
      // A failed handshake (no shared CA, no client certificate, plain HTTP on the TLS port) ends that socket
      // only; Node already destroys it, the listener keeps the process from treating it as unhandled.
      server.on('tlsClientError', Gateway.#onTlsClientError);
      this.server = server;
    }
    this.server.on('clientError', onClientError);
    // `Expect: 100-continue` is answered here, once the declared body fits (see `Exchange.run`).
    this.server.on('checkContinue', this.#onCheckContinue);
    this.server.on('upgrade', this.#onUpgrade);
    this.server.on('connect', Gateway.#onConnect);
    this.server.on('connection', this.#onConnection);
  }

  /**
   * A config reload: later requests get the new timeouts, retry settings and body limit (`reload/live-settings.ts`
   * names which settings are live); requests in flight keep theirs. The listener's own settings stay.
   */
  reconfigure(cfg: GatewayConfig): void {
    const was = this.#config;
    // The listener's settings, and the drain bounds the process's shutdown deadline was computed from,
    // stay as started (`notLive`).
    const timeouts = { ...cfg.timeouts, drain: was.timeouts.drain, drainDelay: was.timeouts.drainDelay };
    this.#config = { ...cfg, listen: was.listen, timeouts };
    this.#deps = { ...this.#deps, plan: { ...this.#deps.plan, options: planOptions(cfg) }, options: exchangeOptions(cfg, this.#trust) };
    this.#deps.bodyBudget.setLimit(cfg.limits.bufferedBytes);
  }

  /** `telemetry.tracing` turned on or off by a reload: later requests are traced by `tracer` (or not). */
  setTracer(tracer: RequestTracer | undefined): void {
    this.#deps = { ...this.#deps, tracer };
  }

  /**
   * Let endpoints a reload removed finish: their pools close once their requests in flight end, or are
   * destroyed after `graceMs` (the drain deadline). Resolves when every one is closed.
   */
  retire(endpoints: readonly Endpoint[], graceMs = this.#config.timeouts.drain): Promise<void> {
    return Promise.all(endpoints.map((e) => this.#pools.retire(e, graceMs))).then(() => undefined);
  }

  /** Listen on the configured host and port (port 0 picks a free one). */
  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: this.#config.listen.port, host: this.#config.listen.host, backlog: this.#config.listen.backlog }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const a = this.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address;
    this.#url = `${this.#tls === undefined ? 'http' : 'https'}://${host}:${a.port}`;
    return a;
  }

  /** The listener's base URL (after `listen`). */
  get url(): string {
    return this.#url;
  }

  /**
   * Re-read the `listen.tls` files (those of `cfg` when given) so new handshakes present the new certificate;
   * established connections, streams in flight among them, keep the one they shook hands with. A bad file
   * throws `ConfigError` and the old certificate stays. Undefined when the listener is plain HTTP.
   */
  reloadTls(cfg?: ListenTlsConfig): ListenerCertificate | undefined {
    if (this.#tls === undefined) return undefined;
    try {
      const certificate = this.#tls.reload(cfg);
      this.#log.info(LOG_EVENT.listenTlsReloaded, { ...certificate });
      return certificate;
    } catch (err) {
      this.#log.error(LOG_EVENT.listenTlsReloadFailed, { reason: (err as Error).message });
      throw err;
    }
  }

  /** The certificate new TLS handshakes present (undefined: plain HTTP). */
  get tlsCertificate(): ListenerCertificate | undefined {
    return this.#tls?.certificate;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Client connections open now, upgraded tunnels included. */
  get connections(): number {
    return this.#connections;
  }

  readonly #onConnection = (socket: Duplex): void => {
    this.#connections++;
    socket.once('close', () => this.#connections--);
  };

  readonly #onCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    this.#onRequest(req, res, true);
  };

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse, expectContinue = false): void => {
    const refused = edgeRefusal(req);
    if (refused !== undefined) {
      if (refused.statusCode === 405) res.setHeader('allow', ALLOWED_METHODS);
      return sendError(res, refused, { attempts: 0, close: true });
    }
    const url = req.url ?? '/';
    const pathEnd = url.indexOf('?');
    const path = pathEnd === -1 ? url : url.slice(0, pathEnd);
    // While draining, every answer closes its connection: the client (a balancer's keep-alive pool)
    // learns from the answer itself not to reuse it, so the gateway never has to close an idle one.
    if (this.#draining) res.shouldKeepAlive = false;
    // Liveness stays 200 until exit: an orchestrator must not kill a process that is finishing streams.
    if (path === this.#config.listen.healthzPath) return this.#probeAnswer(res, true, this.#draining ? 'draining' : 'ok');
    if (path === this.#config.listen.readyzPath) {
      const ready = !this.#draining && this.#picker.routable();
      return this.#probeAnswer(res, ready, this.#draining ? 'draining' : ready ? 'ready' : 'no routable endpoint');
    }
    if (this.#draining) res.shouldKeepAlive = false;
    if (path.startsWith('/v1/models') && this.#answerModels(req, res, path)) return;
    if (url[0] !== '/') {
      return sendError(res, new GatewayError('RG_ERR_BAD_REQUEST', { message: 'request target must be an origin-form path' }), { attempts: 0, close: true });
    }
    const exchange = new Exchange(req, res, this.#deps);
    this.#inflight++;
    exchange.run(expectContinue);
  };

  /**
   * `GET /v1/models` (the union the request may use) and `GET /v1/models/{id}`, answered here when the
   * catalog knows; false = forward to an endpoint (routed by the model in the path).
   */
  #answerModels(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const catalog = this.#catalog;
    if (catalog === undefined) return false;
    const isList = path === '/v1/models' && req.method === 'GET';
    const id = modelInPath(req.method, path);
    if (!isList && id === undefined) return false;
    if (id === null) {
      sendError(res, new GatewayError('RG_ERR_BAD_REQUEST', { message: 'The model id in the path is malformed.' }), { attempts: 0 });
      return true;
    }
    const regions = requestRegions(req.headers['x-regiongate-regions']);
    const refused = catalog.checkRegions(regions);
    if (refused !== undefined) {
      sendError(res, refused, { attempts: 0 });
      return true;
    }
    let answer: unknown;
    if (id === undefined) {
      const models = catalog.list(regions);
      if (models === undefined) return false;
      answer = { object: 'list', data: models.map(modelObject) };
    } else {
      if (req.method !== 'GET' || !catalog.knows(id, regions)) return false;
      answer = modelObject(id);
    }
    const body = JSON.stringify(answer);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-regiongate-attempts': '0' });
    res.end(body);
    return true;
  }

  #probeAnswer(res: ServerResponse, ok: boolean, status: string): void {
    const body = `{"status":"${status}"}`;
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(body);
  }

  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    if (this.#draining) {
      // A new long-lived tunnel would outlive the drain: refuse it, the client reconnects elsewhere.
      const body = JSON.stringify(new GatewayError('RG_ERR_DRAINING').toJSON());
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
          `x-regiongate-error: RG_ERR_DRAINING\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    const refused = edgeRefusal(req);
    if (refused !== undefined)
      return sendRawError(socket, refused, { attempts: 0, headers: refused.statusCode === 405 ? ['allow', ALLOWED_METHODS] : undefined });
    this.#upgrades.handle(req, socket as Socket, head);
  };

  static #onTlsClientError(this: void, _err: Error, socket: Duplex): void {
    socket.destroy();
  }

  /** CONNECT is never proxied; without this listener Node would drop the socket without a word. */
  static #onConnect(this: void, req: IncomingMessage, socket: Duplex): void {
    const refusal = new GatewayError('RG_ERR_METHOD_NOT_ALLOWED', { message: 'the gateway does not forward CONNECT requests' });
    // Over HTTP/2 a CONNECT is a stream, and Node hands over its compat response, not a raw socket.
    if (req.httpVersionMajor === 2) {
      const res = socket as unknown as ServerResponse;
      res.setHeader('allow', ALLOWED_METHODS);
      return sendError(res, refusal, { attempts: 0 });
    }
    socket.on('error', () => socket.destroy());
    sendRawError(socket, refusal, { attempts: 0, headers: ['allow', ALLOWED_METHODS] });
  }

  readonly #onExchangeDone = (exchange: Exchange): void => {
    this.#inflight--;
    this.#onRequestEnd?.(exchange.res.statusCode, exchange.errorCode, exchange);
  };

  /**
   * Graceful drain. Readiness fails at once (liveness stays 200) and every answer from now on carries
   * `connection: close`. For `delayMs` the listener still accepts, so a balancer can notice the failing
   * readiness. Then it stops accepting, and the drain waits until every client connection is gone:
   * in-flight requests, streams and upgraded tunnels finish, and each idle keep-alive connection either
   * carries one more request (answered with `connection: close`) or is closed by the client. The
   * gateway never closes an idle connection itself before `deadlineMs`: a balancer may be writing a
   * request into it at that very moment, and a POST lost that way is one it will not resend. At the
   * deadline everything still open is cut and the upstream pools close.
   */
  async drain(deadlineMs = this.#config.timeouts.drain, delayMs = this.#config.timeouts.drainDelay): Promise<void> {
    if (!this.#draining) {
      this.#draining = true;
      this.#log.info(LOG_EVENT.draining, { inflight: this.#inflight, connections: this.#connections, deadlineMs, delayMs });
      // Keep serving while load balancers notice the failing readiness and stop sending.
      await this.#wait(delayMs);
    }
    // net.Server's close stops accepting and calls back once the last connection has closed; http.Server's
    // own close would also close idle keep-alive connections, the very race this drain avoids.
    // HTTP/2 clients learn of the drain from a GOAWAY: their streams finish, then they reconnect elsewhere.
    this.#h2?.goAway();
    if (this.#connections > 0 && deadlineMs > 0 && !this.#cut.signal.aborted) {
      await this.#wait(deadlineMs, new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve())));
    }
    if (this.#inflight > 0 || this.#connections > 0) this.#log.warn(LOG_EVENT.drainDeadline, { cut: this.#inflight, connections: this.#connections });
    if (this.#h2 !== undefined) this.#h2.destroyAll();
    else (this.server as Server).closeAllConnections();
    this.#upgrades.close();
    // Stops Node's timeout sweep of client connections. Not awaited: a refused upgrade's half-closed
    // socket may wait on its client, and nothing else is left open.
    this.server.close();
    await this.#pools.close();
  }

  /** Close now, cutting whatever is in flight (also ends the waiting of a drain in progress). */
  async close(): Promise<void> {
    this.#cut.abort();
    await this.drain(0, 0);
  }

  /** Wait `ms`, or less when `done` settles first or `close()` cuts the drain. */
  async #wait(ms: number, done: Promise<void> = new Promise(() => undefined)): Promise<void> {
    if (ms <= 0 || this.#cut.signal.aborted) return;
    const signal = this.#cut.signal;
    let timer: NodeJS.Timeout | undefined;
    let onCut: (() => void) | undefined;
    await Promise.race([
      done,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        onCut = resolve;
        signal.addEventListener('abort', onCut, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onCut) signal.removeEventListener('abort', onCut);
  }
}

/** What each exchange is built with, from the config in force and the listener's trusted proxies. */
function exchangeOptions(cfg: GatewayConfig, trust: ExchangeOptions['trust']): ExchangeOptions {
  return {
    queueTimeout: cfg.timeouts.queue,
    connectTimeout: cfg.timeouts.connect,
    firstByteTimeout: cfg.timeouts.firstByte,
    firstByteStreamTimeout: cfg.timeouts.firstByteStream,
    firstByteUnaryTimeout: cfg.timeouts.firstByteUnary,
    idleTimeout: cfg.timeouts.idle,
    bodyLimit: cfg.limits.bodyBytes,
    modelRules: cfg.routing.rules.some((r) => r.model !== undefined),
    trust,
  };
}

/** Each exchange's attempt plan: attempts, deadline, hedging and what may be replayed, from the config in force. */
function planOptions(cfg: GatewayConfig): AttemptPlanOptions {
  return {
    attempts: cfg.retry.attempts,
    requestTimeout: cfg.timeouts.request,
    hedgeAfter: cfg.retry.hedge.after ?? 0,
    maxHedges: cfg.retry.hedge.maxHedges,
    retryPolicy: { statuses: cfg.retry.statuses, nonIdempotent: cfg.retry.nonIdempotent, replayablePaths: new Set(cfg.retry.replayablePaths) },
  };
}
