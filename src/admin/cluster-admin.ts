/**
 * The admin port of a `--workers N` gateway, served by the cluster primary. Each worker runs its admin
 * API on a private loopback port and reports it; this front answers `/metrics` with every worker's
 * metrics merged (one `worker` label per series, so counters stay monotonic per process and Prometheus
 * sees the whole gateway in one scrape) and relays everything else (state, dashboard, operator
 * actions, with their token) to the first live worker. Actions need no fan-out: a drain, eject or drill
 * is a fleet event that the primary already relays to every worker.
 *
 * The primary applies the same browser rules as a worker (`AdminAccess`) before relaying, and nothing a
 * client sends may throw out of its handler: the primary going down takes every worker with it.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mergeMetrics, type Exposition } from '../telemetry/merge-metrics.js';
import { baseUrl, closeServer, listen, SocketTracker } from '../util/listener.js';
import { AdminAccess } from './admin-guard.js';
import { answerInternalError, sendJson, sendRefusal, sendText, tokenMatches } from './admin-http.js';

/** A worker's private admin listener. */
export interface WorkerAdmin {
  readonly gatewayId: string;
  readonly url: string;
}

export interface ClusterAdminOptions {
  /** The live workers' admin listeners, in worker order; the first one serves relayed requests. */
  readonly workers: () => readonly WorkerAdmin[];
  /** Deadline of one worker's part of a metrics scrape, and of a relayed request's answer. */
  readonly timeoutMs?: number;
  /** The configured `admin.host` and `admin.allowedHosts`, for the Host rule (see `AdminAccess`). */
  readonly host?: string;
  readonly allowedHosts?: readonly string[];
  /** Where an unexpected error is reported (one line); stderr by default. */
  readonly log?: (line: string) => void;
  /** `admin.token`: checked here for what the primary answers itself (`POST /admin/reload`). */
  readonly token?: string;
  /** `POST /admin/reload`: every worker reloads (`reload/cluster-reload.ts`), not just the first. */
  readonly reload?: () => Promise<{ readonly status: number; readonly body: unknown }>;
}

const METRICS_TYPE = 'text/plain; version=0.0.4';
/** Largest request body relayed to a worker (a drill record is at most 64 KiB). */
const MAX_RELAYED_BODY = 64 * 1024;

export class ClusterAdmin {
  readonly #server: Server;
  readonly #sockets = new SocketTracker();
  readonly #workers: () => readonly WorkerAdmin[];
  readonly #timeoutMs: number;
  readonly #access: AdminAccess;
  readonly #log: (line: string) => void;
  readonly #token: string | undefined;
  readonly #reload: ClusterAdminOptions['reload'];
  #url = '';

  constructor(opts: ClusterAdminOptions) {
    this.#token = opts.token;
    this.#reload = opts.reload;
    this.#workers = opts.workers;
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#access = new AdminAccess({ host: opts.host ?? '127.0.0.1', allowedHosts: opts.allowedHosts });
    this.#log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
    this.#server = createServer(this.#onRequest);
    this.#server.keepAliveTimeout = 5000;
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
    this.#sockets.track(this.#server);
  }

  get url(): string {
    return this.#url;
  }

  async listen(port: number, host: string): Promise<string> {
    this.#url = baseUrl(host, await listen(this.#server, port, host));
    return this.#url;
  }

  close(): Promise<void> {
    return closeServer(this.#server, this.#sockets);
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      const target = this.#access.check(req);
      if ('code' in target) return sendRefusal(res, target);
      if (target.path === '/metrics' && req.method === 'GET')
        return void this.#metrics(res).catch((err: unknown) => this.#failed(req, res, err));
      if (target.path === '/admin/reload' && this.#reload !== undefined) return this.#reloadAll(req, res, this.#reload);
      const first = this.#workers()[0];
      if (first === undefined) return unavailable(res, 'no worker is up yet');
      this.#relay(req, res, first);
    } catch (err) {
      this.#failed(req, res, err);
    }
  };

  /** Answered here, not relayed: a reload must reach every worker. Same token rule as a worker's admin API. */
  #reloadAll(req: IncomingMessage, res: ServerResponse, reload: NonNullable<ClusterAdminOptions['reload']>): void {
    req.resume();
    if (!tokenMatches(this.#token, req.headers.authorization)) return sendRefusal(res, { status: 401, code: 'RG_ADMIN_UNAUTHORIZED', message: 'admin token required' });
    if (req.method !== 'POST') return sendRefusal(res, { status: 405, code: 'RG_ADMIN_METHOD', message: 'use POST', headers: { allow: 'POST' } });
    void reload().then(
      (a) => sendJson(res, a.status, a.body),
      (err: unknown) => this.#failed(req, res, err),
    );
  }

  #failed(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.#log(`regiongate: admin.error ${req.method} ${JSON.stringify(req.url?.slice(0, 200))}: ${what.replace(/\n/g, ' ')}`);
    answerInternalError(res);
  }

  async #metrics(res: ServerResponse): Promise<void> {
    const parts = await Promise.all(
      this.#workers().map(async (w): Promise<Exposition | string> => {
        try {
          return { worker: w.gatewayId, text: await this.#get(`${w.url}/metrics`) };
        } catch (err) {
          return `# worker ${w.gatewayId} did not answer: ${(err as Error).message.replace(/\n/g, ' ')}\n`;
        }
      }),
    );
    const failures = parts.filter((p): p is string => typeof p === 'string');
    const body = failures.join('') + mergeMetrics(parts.filter((p): p is Exposition => typeof p !== 'string'));
    if (!res.destroyed) sendText(res, 200, body, METRICS_TYPE);
  }

  #get(url: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const r = request(url, { timeout: this.#timeoutMs }, (up) => {
        let text = '';
        up.setEncoding('utf8');
        up.on('data', (d: string) => (text += d));
        up.on('end', () => (up.statusCode === 200 ? resolve(text) : reject(new Error(`status ${up.statusCode}`))));
        up.on('error', reject);
      });
      r.on('timeout', () => r.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      r.on('error', reject);
      r.end();
    });
  }

  /**
   * Relay to a worker's private listener, with the request body (action options, a drill record) read
   * here first and bounded by `MAX_RELAYED_BODY` (413 beyond): nothing unbounded flows through the primary. `Host` becomes the worker's and `Origin` is dropped:
   * both were checked here, against the address the client actually used.
   */
  #relay(req: IncomingMessage, res: ServerResponse, to: WorkerAdmin): void {
    const { host: _h, connection: _c, origin: _o, 'content-length': _l, 'transfer-encoding': _t, expect: _e, ...headers } = req.headers;
    // Host and port from the worker's URL, the path as given: `new URL('//x/', worker)` would go to host x.
    const w = new URL(to.url);
    const options = { host: w.hostname.replace(/^\[|\]$/g, ''), port: w.port, path: req.url, method: req.method, headers, timeout: this.#timeoutMs };
    const r = request(options, (up) => {
      const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _te, ...answer } = up.headers;
      res.writeHead(up.statusCode ?? 502, { ...answer, 'x-regiongate-worker': to.gatewayId });
      up.on('error', (err) => res.destroy(err));
      up.pipe(res);
    });
    r.on('timeout', () => r.destroy(new Error(`worker ${to.gatewayId} did not answer within ${this.#timeoutMs} ms`)));
    r.on('error', (err) => {
      if (res.destroyed || res.writableEnded) return;
      if (!res.headersSent) unavailable(res, err.message);
      else res.destroy(err);
    });
    // The client went away: stop waiting for the worker.
    res.on('close', () => r.destroy());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_RELAYED_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size <= MAX_RELAYED_BODY) return void r.end(Buffer.concat(chunks));
      r.destroy();
      if (!res.headersSent) sendRefusal(res, { status: 413, code: 'RG_ADMIN_BAD_REQUEST', message: `the body must be at most ${MAX_RELAYED_BODY} bytes` });
    });
    req.on('error', () => r.destroy());
  }
}

function unavailable(res: ServerResponse, message: string): void {
  sendRefusal(res, { status: 503, code: 'RG_ADMIN_UNAVAILABLE', message });
}
