/**
 * The admin API on its own port: gateway state (endpoint health, store status, retry budget), operator
 * drain/eject of endpoints and regions, Prometheus metrics, and a live dashboard page. Everything but
 * `/metrics`, `/healthz` and the (data-free) dashboard page needs `Authorization: Bearer <admin.token>`
 * when a token is configured. Before any of that, `AdminAccess` keeps browsers out (Host, Origin,
 * preflight-only state changes). Nothing a client sends can throw out of the handler: an unexpected
 * error is a 500 and an `admin.error` log line, never the end of the process (and of its data plane).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import { AdminAccess, decodeSegment, type AdminAccessOptions } from './admin-guard.js';
import { answerInternalError, sendJson, sendRefusal, sendText, tokenMatches } from './admin-http.js';
import { readActionOptions, type ActionOptions } from './action-options.js';
import { DASHBOARD_ASSETS } from './dashboard/assets.js';
import { EventStream, type EventStreamOptions } from './event-stream.js';
import type { Timeline } from './timeline.js';
import { systemClock, type Clock } from '../util/clock.js';
import { ConfigError } from '../errors.js';
import { drillRecordSchema, MAX_DRILL_RECORD_BYTES, type DrillRecord } from '../fleet/fleet-board.js';
import type { DrillStart } from '../drill/drill-runner.js';

/** What the admin API acts on; `createGateway` supplies it. */
export interface AdminTarget {
  state(): unknown;
  metrics(): string;
  /**
   * Operator actions on endpoints (by id) or whole regions: the endpoint ids affected, undefined for
   * an unknown name, or a refusal naming the models the action would leave with no routable endpoint.
   */
  /** `GET /admin/fleet`: every gateway's traffic summary (src/fleet/fleet-board.ts). */
  fleet?(): unknown;
  /** `GET /admin/drills`: the drills kept in the store; undefined when it cannot be reached. */
  drills?(): Promise<readonly DrillRecord[] | undefined>;
  /** `POST /admin/drills`: keep a drill record; false when the store cannot be reached. */
  recordDrill?(record: DrillRecord): Promise<boolean>;
  /** `POST /admin/drills/run`: start a drill on this gateway (body checked by `parseDrillRequest`); its id, or a refusal. */
  startDrill?(body: unknown): Promise<DrillStart>;
  /** `GET /admin/events`: the dashboard's combined snapshot (default: `state()` alone). */
  dashboard?(): unknown;
  /** Pushed to event streams entry by entry as they happen. */
  readonly timeline?: Timeline;
  act(action: AdminAction, scope: 'endpoint' | 'region', name: string, options: ActionOptions): string[] | undefined | ActionRefusal;
  /** `POST /admin/reload`: re-read and apply the config; rejects with `ConfigError` (a 400 listing every problem). */
  reload?(): Promise<unknown>;
}

/** A drain or drill refused because it would strand these models (409 `RG_ADMIN_STRANDS_MODEL`). */
export interface ActionRefusal {
  readonly strandedModels: readonly string[];
}

/**
 * `drill` takes the endpoints out fleet-wide for `?seconds=` (default 30), whatever their health;
 * `undrill` ends a drill early and nothing else (an operator drain stays). `fault` injects a fault
 * (`?fault=error|hang|slow&percent=P[&delay=D]`) into every gateway's attempts toward them for
 * `?seconds=`; `unfault` ends it early.
 */
export type AdminAction = 'drain' | 'undrain' | 'eject' | 'uneject' | 'drill' | 'undrill' | 'fault' | 'unfault';
const ACTIONS = new Set<string>(['drain', 'undrain', 'eject', 'uneject', 'drill', 'undrill', 'fault', 'unfault']);
const ACTION_PATH = /^\/admin\/(endpoints|regions)\/([^/]+)\/(drain|undrain|eject|uneject|drill|undrill|fault|unfault)$/;

export interface AdminServerOptions extends AdminAccessOptions {
  /** `admin.token`; undefined leaves the API open (the config allows that on loopback only). */
  readonly token?: string | undefined;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Cadence, heartbeat and bounds of `GET /admin/events` (defaults in `event-stream.ts`). */
  readonly events?: Partial<Omit<EventStreamOptions, 'clock' | 'snapshot' | 'onError'>>;
}

export class AdminServer {
  readonly #server: Server;
  readonly #target: AdminTarget;
  readonly #token: string | undefined;
  readonly #access: AdminAccess;
  readonly #logger: Logger;
  readonly #events: EventStream;
  readonly #unsubscribe: (() => void) | undefined;
  #url = '';

  constructor(target: AdminTarget, opts: AdminServerOptions) {
    this.#target = target;
    this.#token = opts.token || undefined;
    this.#access = new AdminAccess(opts);
    this.#logger = opts.logger ?? silentLogger;
    this.#events = new EventStream({
      ...opts.events,
      clock: opts.clock ?? systemClock,
      snapshot: () => (target.dashboard ? target.dashboard() : { state: target.state() }),
      onError: (err) => this.#logger.error(LOG_EVENT.adminError, { method: 'GET', url: '/admin/events', err }),
    });
    this.#unsubscribe = target.timeline?.onEntry((entry) => this.#events.publish('timeline', entry));
    this.#server = createServer(this.#onRequest);
    this.#server.keepAliveTimeout = 5000;
    // A client that trickles its headers or body holds a socket for seconds, not Node's default minutes.
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
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

  /** Open event streams (the dashboards watching). */
  get streams(): number {
    return this.#events.clients;
  }

  /** End every event stream and refuse new ones: the gateway is draining. */
  closeStreams(): void {
    this.#events.close();
    this.#unsubscribe?.();
  }

  async close(): Promise<void> {
    this.closeStreams();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#route(req, res);
    } catch (err) {
      this.#logger.error(LOG_EVENT.adminError, { method: req.method, url: req.url?.slice(0, 200), err });
      answerInternalError(res);
    }
  };

  #route(req: IncomingMessage, res: ServerResponse): void {
    const target = this.#access.check(req);
    if ('code' in target) return sendRefusal(res, target);
    const { path, query } = target;
    if (path === '/metrics' && req.method === 'GET') return sendText(res, 200, this.#target.metrics(), 'text/plain; version=0.0.4');
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    // The page and its script and styles hold no data: the script reads /admin/events with the token given
    // in the page's URL fragment (#token=…), which never reaches a server or its logs.
    const asset = req.method === 'GET' ? DASHBOARD_ASSETS.get(path) : undefined;
    if (asset) return sendText(res, 200, asset.body, asset.type, asset.headers);
    if (!this.#authorized(req)) return sendRefusal(res, { status: 401, code: 'RG_ADMIN_UNAUTHORIZED', message: 'admin token required' });
    if (path === '/admin/events' && req.method === 'GET') return this.#events.open(req, res);
    if (path === '/admin/state' && req.method === 'GET') return sendJson(res, 200, this.#target.state());
    if (path === '/admin/fleet' && req.method === 'GET' && this.#target.fleet) return sendJson(res, 200, this.#target.fleet());
    if (path === '/admin/drills') return this.#drills(req, res);
    if (path === '/admin/drills/run') return this.#runDrill(req, res);
    if (path === '/admin/reload') return this.#reload(req, res);
    const m = ACTION_PATH.exec(path);
    if (m && ACTIONS.has(m[3])) {
      if (req.method !== 'POST') return sendRefusal(res, { status: 405, code: 'RG_ADMIN_METHOD', message: 'use POST', headers: { allow: 'POST' } });
      const scope = m[1] === 'regions' ? 'region' : 'endpoint';
      const name = decodeSegment(m[2]);
      if (name === undefined) return badRequest(res, `malformed percent-escape in the ${scope} name`);
      void readActionOptions(req, query ?? '', m[3])
        .then((parsed) => {
          if ('status' in parsed) return sendRefusal(res, { status: parsed.status, code: 'RG_ADMIN_BAD_REQUEST', message: parsed.message });
          const affected = this.#target.act(m[3] as AdminAction, scope, name, parsed.options);
          if (affected === undefined) return sendRefusal(res, { status: 404, code: 'RG_ADMIN_NOT_FOUND', message: `unknown ${scope} ${JSON.stringify(name)}` });
          if (!Array.isArray(affected)) {
            const models = affected.strandedModels;
            const message = `${m[3]} refused: it would leave ${models.map((x) => `"${x}"`).join(', ')} with no routable endpoint; add ?force=true to do it anyway`;
            return sendJson(res, 409, { error: { message, code: 'RG_ADMIN_STRANDS_MODEL', models } });
          }
          return sendJson(res, 200, { action: m[3], endpoints: affected });
        })
        .catch((err: unknown) => {
          // An action that throws is a 500 for this request, never an unhandled rejection.
          this.#logger.error(LOG_EVENT.adminError, { method: req.method, url: req.url?.slice(0, 200), err });
          answerInternalError(res);
        });
      return;
    }
    sendRefusal(res, { status: 404, code: 'RG_ADMIN_NOT_FOUND', message: `no admin route ${req.method} ${JSON.stringify(path.slice(0, 200))}` });
  }

  /** Re-read the config: 200 with what changed, or 400 with every problem (`check-config`'s list); nothing changes then. */
  #reload(req: IncomingMessage, res: ServerResponse): void {
    const reload = this.#target.reload;
    if (!reload) return sendRefusal(res, { status: 404, code: 'RG_ADMIN_NOT_FOUND', message: 'no reload here' });
    if (req.method !== 'POST') return sendRefusal(res, { status: 405, code: 'RG_ADMIN_METHOD', message: 'use POST', headers: { allow: 'POST' } });
    req.resume();
    void reload().then(
      (result) => sendJson(res, 200, result),
      (err: unknown) => {
        if (err instanceof ConfigError) return sendJson(res, 400, reloadRefusal(err.issues));
        this.#logger.error(LOG_EVENT.adminError, { method: req.method, url: req.url?.slice(0, 200), err });
        answerInternalError(res);
      },
    );
  }

  /** List the drills kept in the store, or keep one (the `regiongate drill` command posts its record). */
  #drills(req: IncomingMessage, res: ServerResponse): void {
    const { drills, recordDrill } = this.#target;
    if (!drills || !recordDrill) return sendRefusal(res, { status: 404, code: 'RG_ADMIN_NOT_FOUND', message: 'no drills here' });
    const unavailable = (): void => sendRefusal(res, { status: 503, code: 'RG_ADMIN_UNAVAILABLE', message: 'the state store cannot be reached' });
    const failed = (err: unknown): void => {
      this.#logger.error(LOG_EVENT.adminError, { method: req.method, url: req.url?.slice(0, 200), err });
      answerInternalError(res);
    };
    if (req.method === 'GET') return void drills().then((list) => (list ? sendJson(res, 200, { drills: list }) : unavailable()), failed);
    if (req.method !== 'POST') return sendRefusal(res, { status: 405, code: 'RG_ADMIN_METHOD', message: 'use GET or POST', headers: { allow: 'GET, POST' } });
    void readJsonBody(req, MAX_DRILL_RECORD_BYTES)
      .then(async (body) => {
        if ('error' in body) return badRequest(res, body.error);
        const parsed = drillRecordSchema.safeParse(body.value);
        if (!parsed.success) return badRequest(res, `not a drill record: ${parsed.error.issues[0]?.path.join('.') || 'body'} ${parsed.error.issues[0]?.message ?? ''}`.trim());
        if (!(await recordDrill(parsed.data))) return unavailable();
        return sendJson(res, 200, { kept: parsed.data.id });
      })
      .catch(failed);
  }

  /** Start a drill here in the background (the dashboard's form): 200 with its id once it has started. */
  #runDrill(req: IncomingMessage, res: ServerResponse): void {
    const start = this.#target.startDrill;
    if (!start) return sendRefusal(res, { status: 404, code: 'RG_ADMIN_NOT_FOUND', message: 'no drills here' });
    if (req.method !== 'POST') return sendRefusal(res, { status: 405, code: 'RG_ADMIN_METHOD', message: 'use POST', headers: { allow: 'POST' } });
    void readJsonBody(req, 4096)
      .then(async (body) => {
        if ('error' in body) return badRequest(res, body.error);
        const started = await start(body.value);
        if ('id' in started) return sendJson(res, 200, { started: started.id });
        return sendRefusal(res, started);
      })
      .catch((err: unknown) => {
        this.#logger.error(LOG_EVENT.adminError, { method: req.method, url: req.url?.slice(0, 200), err });
        answerInternalError(res);
      });
  }

  #authorized(req: IncomingMessage): boolean {
    return tokenMatches(this.#token, req.headers.authorization);
  }
}

/** A JSON body of at most `max` bytes, or why not (a message for a 400). */
function readJsonBody(req: IncomingMessage, max: number): Promise<{ value: unknown } | { error: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max && !done) {
        done = true;
        resolve({ error: `the body must be at most ${max} bytes` });
      } else if (!done) chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      try {
        resolve({ value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch {
        resolve({ error: 'the body is not valid JSON' });
      }
    });
    req.on('error', () => resolve({ error: 'the body could not be read' }));
  });
}

/** The 400 body of a refused reload: every problem, as `check-config` lists them. */
export function reloadRefusal(problems: readonly string[]): { reloaded: false; error: { code: string; message: string; problems: readonly string[] } } {
  return { reloaded: false, error: { code: 'RG_ERR_CONFIG', message: 'config not reloaded: still serving with the previous one', problems } };
}

function badRequest(res: ServerResponse, message: string): void {
  sendRefusal(res, { status: 400, code: 'RG_ADMIN_BAD_REQUEST', message });
}
