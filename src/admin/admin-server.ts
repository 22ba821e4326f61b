/**
 * The admin API on its own port: gateway state (endpoint health, store status, retry budget), operator
 * drain/eject of endpoints and regions, Prometheus metrics, and a live dashboard page. Everything but
 * `/metrics`, `/healthz` and the (data-free) dashboard page needs `Authorization: Bearer <admin.token>`
 * when a token is configured.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readActionOptions, type ActionOptions } from './action-options.js';
import { DASHBOARD_HTML } from './dashboard.js';

/** What the admin API acts on; `createGateway` supplies it. */
export interface AdminTarget {
  state(): unknown;
  metrics(): string;
  /**
   * Operator actions on endpoints (by id) or whole regions: the endpoint ids affected, undefined for
   * an unknown name, or a refusal naming the models the action would leave with no routable endpoint.
   */
  act(action: AdminAction, scope: 'endpoint' | 'region', name: string, options: ActionOptions): string[] | undefined | ActionRefusal;
}

/** A drain or drill refused because it would strand these models (409 `RG_ADMIN_STRANDS_MODEL`). */
export interface ActionRefusal {
  readonly strandedModels: readonly string[];
}

/** `drill` takes the endpoints out fleet-wide for `?seconds=` (default 30), whatever their health. */
export type AdminAction = 'drain' | 'undrain' | 'eject' | 'uneject' | 'drill';
const ACTIONS = new Set<string>(['drain', 'undrain', 'eject', 'uneject', 'drill']);
const ACTION_PATH = /^\/admin\/(endpoints|regions)\/([^/]+)\/(drain|undrain|eject|uneject|drill)$/;

export class AdminServer {
  readonly #server: Server;
  readonly #target: AdminTarget;
  readonly #token: Buffer | undefined;
  #url = '';

  constructor(target: AdminTarget, token: string | undefined) {
    this.#target = target;
    this.#token = token ? Buffer.from(token) : undefined;
    this.#server = createServer(this.#onRequest);
    this.#server.keepAliveTimeout = 5000;
  }

  get url(): string {
    return this.#url;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      // Exclusive: in a `--workers` worker the admin listener is the worker's own, not a handle shared
      // through the cluster primary (which would hand every worker the same port 0).
      this.#server.listen({ port, host, exclusive: true }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const a = this.#server.address() as AddressInfo;
    this.#url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    return a;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const [path, query] = (req.url ?? '/').split('?');
    if (path === '/metrics' && req.method === 'GET') return send(res, 200, this.#target.metrics(), 'text/plain; version=0.0.4');
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    // The page holds no data: it reads /admin/state with the token given in its URL fragment (#token=…).
    if ((path === '/' || path === '/admin/dashboard') && req.method === 'GET') return send(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8');
    if (!this.#authorized(req)) return json(res, 401, { error: { message: 'admin token required', code: 'RG_ADMIN_UNAUTHORIZED' } });
    if (path === '/admin/state' && req.method === 'GET') return json(res, 200, this.#target.state());
    const m = ACTION_PATH.exec(path);
    if (m && ACTIONS.has(m[3])) {
      if (req.method !== 'POST') return json(res, 405, { error: { message: 'use POST', code: 'RG_ADMIN_METHOD' } });
      void readActionOptions(req, query ?? '').then((parsed) => {
        if ('status' in parsed) return json(res, parsed.status, { error: { message: parsed.message, code: 'RG_ADMIN_BAD_REQUEST' } });
        const affected = this.#target.act(m[3] as AdminAction, m[1] === 'regions' ? 'region' : 'endpoint', decodeURIComponent(m[2]), parsed.options);
        if (affected === undefined) return json(res, 404, { error: { message: `unknown ${m[1] === 'regions' ? 'region' : 'endpoint'} "${m[2]}"`, code: 'RG_ADMIN_NOT_FOUND' } });
        if (!Array.isArray(affected)) {
          const models = affected.strandedModels;
          const message = `${m[3]} refused: it would leave ${models.map((x) => `"${x}"`).join(', ')} with no routable endpoint; add ?force=true to do it anyway`;
          return json(res, 409, { error: { message, code: 'RG_ADMIN_STRANDS_MODEL', models } });
        }
        return json(res, 200, { action: m[3], endpoints: affected });
      }).catch(() => {
        // An action that throws is a 500 for this request, never an unhandled rejection.
        if (!res.headersSent) json(res, 500, { error: { message: 'admin action failed', code: 'RG_ADMIN_INTERNAL' } });
        else res.destroy();
      });
      return;
    }
    json(res, 404, { error: { message: `no admin route ${req.method} ${path}`, code: 'RG_ADMIN_NOT_FOUND' } });
  };

  #authorized(req: IncomingMessage): boolean {
    if (this.#token === undefined) return true;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (given === undefined) return false;
    const b = Buffer.from(given);
    return b.length === this.#token.length && timingSafeEqual(b, this.#token);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), 'application/json');
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
