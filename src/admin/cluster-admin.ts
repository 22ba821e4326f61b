/**
 * The admin port of a `--workers N` gateway, served by the cluster primary. Each worker runs its admin
 * API on a private loopback port and reports it; this front answers `/metrics` with every worker's
 * metrics merged (one `worker` label per series, so counters stay monotonic per process and Prometheus
 * sees the whole gateway in one scrape) and relays everything else (state, dashboard, operator
 * actions, with their token) to the first live worker. Actions need no fan-out: a drain, eject or drill
 * is a fleet event that the primary already relays to every worker.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mergeMetrics, type Exposition } from '../telemetry/merge-metrics.js';
import { baseUrl, closeServer, listen, SocketTracker } from '../util/listener.js';

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
}

const METRICS_TYPE = 'text/plain; version=0.0.4';

export class ClusterAdmin {
  readonly #server: Server;
  readonly #sockets = new SocketTracker();
  readonly #workers: () => readonly WorkerAdmin[];
  readonly #timeoutMs: number;
  #url = '';

  constructor(opts: ClusterAdminOptions) {
    this.#workers = opts.workers;
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#server = createServer(this.#onRequest);
    this.#server.keepAliveTimeout = 5000;
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
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && req.method === 'GET') return void this.#metrics(res);
    const first = this.#workers()[0];
    if (first === undefined) return unavailable(res, 'no worker is up yet');
    this.#relay(req, res, first);
  };

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
    res.writeHead(200, { 'content-type': METRICS_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
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

  #relay(req: IncomingMessage, res: ServerResponse, to: WorkerAdmin): void {
    const { host: _host, connection: _connection, ...headers } = req.headers;
    const r = request(`${to.url}${req.url ?? '/'}`, { method: req.method, headers, timeout: this.#timeoutMs }, (up) => {
      const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _te, ...answer } = up.headers;
      res.writeHead(up.statusCode ?? 502, { ...answer, 'x-regiongate-worker': to.gatewayId });
      up.pipe(res);
    });
    r.on('timeout', () => r.destroy(new Error(`worker ${to.gatewayId} did not answer within ${this.#timeoutMs} ms`)));
    r.on('error', (err) => {
      if (!res.headersSent) unavailable(res, err.message);
      else res.destroy(err);
    });
    req.pipe(r);
  }
}

function unavailable(res: ServerResponse, message: string): void {
  const body = JSON.stringify({ error: { message, code: 'RG_ADMIN_UNAVAILABLE' } });
  res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
