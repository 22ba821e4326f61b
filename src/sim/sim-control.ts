/**
 * The control server of a set of simulators, on its own port, for drills and demos driven from outside
 * the process:
 *
 * - `GET    /regions`               → `{ regions: [{ name, provider, url, listening, fault, profile, stats }] }`
 * - `GET    /regions/:name`         → one region, as above
 * - `POST   /regions/:name/fault`   body: a JSON `Fault` → `{ name, fault }` (400 with every problem listed)
 * - `DELETE /regions/:name/fault`   → back to `{ mode: "none" }`
 * - `DELETE /regions/:name/stats`   → counters reset
 *
 * Errors answer `{ error: { message, code } }` with 400, 404 or 405.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { NO_FAULT, parseFault, type Fault } from './fault.js';
import { baseUrl, closeServer, listen, SocketTracker } from '../util/listener.js';
import type { RegionSimulator, SimStats } from './region-simulator.js';
import { readBody, type SimProfile } from './sim-exchange.js';

export interface SimControlOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

/** How the control server describes one region. */
export interface RegionDescription {
  name: string;
  provider: string | null;
  url: string;
  listening: boolean;
  fault: Readonly<Fault>;
  profile: SimProfile;
  stats: SimStats;
}

/** Describe one region for `GET /regions`. */
export function describeRegion(sim: RegionSimulator): RegionDescription {
  return {
    name: sim.name,
    provider: sim.provider ?? null,
    url: sim.url,
    listening: sim.listening,
    fault: sim.fault,
    profile: sim.profile,
    stats: sim.stats,
  };
}

const CONTROL_BODY_LIMIT = 64 * 1024;

export class SimControl {
  readonly host: string;
  readonly #regions = new Map<string, RegionSimulator>();
  readonly #server: Server;
  readonly #sockets = new SocketTracker();
  #port: number;
  #closing: Promise<void> | undefined;

  constructor(simulators: Iterable<RegionSimulator>, options: SimControlOptions = {}) {
    for (const sim of simulators) {
      if (this.#regions.has(sim.name)) throw new TypeError(`duplicate simulator name: ${sim.name}`);
      this.#regions.set(sim.name, sim);
    }
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#server = createServer({ noDelay: true }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => reply(res, 500, errorBody(String(err), 'internal')));
    });
    this.#sockets.track(this.#server);
  }

  /** Listen; resolves the base URL. */
  async start(): Promise<string> {
    if (this.#closing) throw new Error('sim control is closed');
    if (this.#server.listening) return this.url;
    this.#port = await listen(this.#server, this.#port, this.host);
    if (this.#closing) {
      await closeServer(this.#server, this.#sockets);
      throw new Error('sim control was closed while starting');
    }
    return this.url;
  }

  get url(): string {
    return baseUrl(this.host, this.#port);
  }

  get port(): number {
    return this.#port;
  }

  /** Close the control server (not the simulators). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= closeServer(this.#server, this.#sockets);
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, CONTROL_BODY_LIMIT);
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (path === '/regions' || path === '/regions/') {
      if (method !== 'GET') return reply(res, 405, errorBody('use GET /regions', 'method_not_allowed'));
      return reply(res, 200, { regions: [...this.#regions.values()].map(describeRegion) });
    }
    const match = /^\/regions\/([^/]+)(?:\/(fault|stats))?\/?$/.exec(path);
    if (!match) return reply(res, 404, errorBody(`no route ${method} ${path}`, 'not_found'));
    let name: string;
    try {
      name = decodeURIComponent(match[1]);
    } catch {
      return reply(res, 400, errorBody('bad region name encoding', 'bad_request'));
    }
    const sim = this.#regions.get(name);
    if (!sim) {
      const known = [...this.#regions.keys()].join(', ');
      return reply(res, 404, errorBody(`unknown region '${name}' (known: ${known})`, 'unknown_region'));
    }
    const allow = (methods: string): void => {
      reply(res, 405, errorBody(`use ${methods} ${path}`, 'method_not_allowed'));
    };
    switch (match[2]) {
      case undefined:
        return method === 'GET' ? reply(res, 200, describeRegion(sim)) : allow('GET');
      case 'stats':
        if (method !== 'DELETE') return allow('DELETE');
        sim.resetStats();
        return reply(res, 200, describeRegion(sim));
      default:
        if (method === 'DELETE') {
          await sim.setFault(NO_FAULT);
          return reply(res, 200, { name, fault: sim.fault });
        }
        if (method !== 'POST' && method !== 'PUT') return allow('POST or DELETE');
        return this.#postFault(res, sim, body);
    }
  }

  async #postFault(res: ServerResponse, sim: RegionSimulator, body: Buffer): Promise<void> {
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      const message = 'body must be a JSON fault such as {"mode":"error","status":503}';
      return reply(res, 400, errorBody(message, 'bad_request'));
    }
    const parsed = parseFault(input);
    if (!parsed.ok) return reply(res, 400, { error: { message: parsed.errors.join('; '), code: 'bad_fault', issues: parsed.errors } });
    await sim.setFault(parsed.fault);
    reply(res, 200, { name: sim.name, fault: sim.fault });
  }
}

function errorBody(message: string, code: string): object {
  return { error: { message, code } };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}
