/**
 * WebSocket upgrades (OpenAI's Realtime API: `GET /v1/realtime?model=...`) under the rules of a plain
 * request, passed through http-proxy's `ws()`: the model from the `model` query parameter and
 * `x-regiongate-regions` decide the endpoint (so data residency holds), the header rules of `headers.ts`
 * apply, and each endpoint holds at most its `connections` open tunnels. Only WebSocket is accepted: an
 * `h2c` upgrade would hand the client a raw HTTP/2 connection to the endpoint, past every rule here.
 * Open tunnels are tracked so a close can cut them (a drain waits for them as for any client connection,
 * by the listener's connection count in `gateway.ts`); what http-proxy does
 * not do for one tunnel (timeouts, the answer's header rules, the slot) is in `tunnel.ts`.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import httpProxy from 'http-proxy';
import { GatewayError } from '../errors.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { Picker } from '../routing/picker.js';
import { clientProto, type TrustFn } from './forwarded.js';
import { upstreamHeaders } from './headers.js';
import { upgradeTargetFor } from './model-alias.js';
import { sendRawError } from './raw-response.js';
import { requestRegions } from './request-info.js';
import { classifyFailure } from '../health/classify-failure.js';
import { Tunnel, type TunnelLimits, type TunnelRequest } from './tunnel.js';
import { Agent as HttpsAgent } from 'node:https';
import { tlsConnectOptions, type EndpointTls } from '../registry/endpoint-tls.js';
import type { TlsFailureFn } from '../transport/tls-connect.js';

export interface UpgradeOptions extends TunnelLimits {
  readonly picker: Picker;
  /** Proxies trusted to say who the client is (`listen.trustProxy`). */
  readonly trust: TrustFn;
  /** True when a routing rule names a model: an upgrade that names none is then refused (fail closed). */
  readonly modelRequired: boolean;
  /** Told about TLS failures toward an endpoint. */
  readonly onTlsFailure?: TlsFailureFn;
}

export class UpgradeProxy {
  readonly #opts: UpgradeOptions;
  /**
   * One http-proxy for every tunnel. `xfwd` off: forwarding headers follow `listen.trustProxy`
   * (`headers.ts`). No agent: a tunnel holds its connection for life, never one of the pools'.
   */
  readonly #proxy = httpProxy.createProxyServer({ ws: true, xfwd: false, changeOrigin: true, agent: false });
  readonly #tunnels = new Set<Tunnel>();
  /** Upgrades handed to http-proxy whose outgoing request it has not yet created (`proxyReqWs`). */
  readonly #starting = new WeakMap<IncomingMessage, { tunnel: Tunnel; out: TunnelRequest }>();
  /** Open tunnels per endpoint; keys are the few configured endpoints, never deleted. */
  readonly #open = new Map<Endpoint, number>();
  /**
   * Per https endpoint with `tls` set: an agent without keep-alive (each tunnel still has its own socket)
   * that carries the endpoint's TLS settings. An agent's options override the request's, so its
   * servername wins over the Host header that Node would otherwise send as SNI.
   */
  readonly #tlsAgents = new Map<Endpoint, { readonly tls: EndpointTls; readonly agent: HttpsAgent }>();
  readonly #onTunnelClose = (t: Tunnel): void => {
    this.#tunnels.delete(t);
    this.#open.set(t.endpoint, (this.#open.get(t.endpoint) ?? 1) - 1);
  };

  constructor(opts: UpgradeOptions) {
    this.#opts = opts;
    this.#proxy.on('proxyReqWs', this.#onProxyReq);
  }

  /** Route an upgrade request, already past the edge checks (method, path), and open its tunnel. */
  handle(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const id = req.headers['x-request-id'];
    const requestId = typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : randomUUID();
    const refuse = (err: GatewayError, endpoint?: Endpoint): void =>
      sendRawError(socket, err, { requestId, attempts: 0, region: endpoint?.region, endpoint: endpoint?.id });
    const protocol = req.headers.upgrade?.trim().toLowerCase();
    if (req.method !== 'GET' || protocol !== 'websocket')
      return refuse(new GatewayError('RG_ERR_BAD_UPGRADE', { message: `refused upgrade to "${req.headers.upgrade}" with ${req.method}: only GET with Upgrade: websocket is forwarded` }));
    const url = req.url ?? '/';
    // Absolute-form (`GET http://other/...`) would name another host to the endpoint, past the Host rule.
    if (url[0] !== '/') return refuse(new GatewayError('RG_ERR_BAD_REQUEST', { message: 'request target must be an origin-form path' }));
    const q = url.indexOf('?');
    const model = q === -1 ? undefined : new URLSearchParams(url.slice(q + 1)).get('model') || undefined;
    if (model === undefined && this.#opts.modelRequired)
      return refuse(new GatewayError('RG_ERR_MODEL_REQUIRED', { message: 'routing rules restrict models to regions: name the model in the query, e.g. ?model=...' }));
    const endpoint = this.#pickWithRoom(model, requestRegions(req.headers['x-regiongate-regions']));
    if (endpoint instanceof GatewayError) return refuse(endpoint);
    const headers = upstreamHeaders(req.rawHeaders, { clientIp: socket.remoteAddress ?? '', proto: clientProto(socket), requestId, trust: this.#opts.trust }, endpoint.headers, 0);
    if (!endpoint.headers.some(([name]) => name === 'host')) headers.unshift('host', new URL(endpoint.origin).host);
    headers.push('connection', 'Upgrade', 'upgrade', 'websocket');
    this.#open.set(endpoint, (this.#open.get(endpoint) ?? 0) + 1);
    const tunnel = new Tunnel(socket, endpoint, requestId, this.#opts, this.#onTunnelClose);
    this.#tunnels.add(tunnel);
    this.#starting.set(req, { tunnel, out: { path: endpoint.basePath + upgradeTargetFor(endpoint, model, url), headers } });
    // Every failure of the upstream side (connect, the timers' errors, resets) arrives here, once mapped.
    this.#proxy.ws(req, socket, head, { target: endpoint.origin, agent: this.#tlsAgent(endpoint) ?? false }, (err) => {
      const verdict = classifyFailure(err);
      if (verdict.error.code === 'RG_ERR_UPSTREAM_TLS') this.#opts.onTlsFailure?.(endpoint, err);
      tunnel.fail(verdict.error);
    });
  }

  /** http-proxy created the outgoing request (not yet sent): hand it to its tunnel. */
  readonly #onProxyReq = (upstream: ClientRequest, req: IncomingMessage): void => {
    const starting = this.#starting.get(req);
    this.#starting.delete(req);
    if (starting === undefined) return void upstream.destroy();
    try {
      starting.tunnel.attach(upstream, starting.out);
    } catch (err) {
      upstream.destroy(err instanceof Error ? err : new Error(String(err))); // e.g. a header value Node refuses
    }
  };

  /** The endpoint the picker prefers among those with a free tunnel, or why there is none. */
  #pickWithRoom(model: string | undefined, regions: ReadonlySet<string> | undefined): Endpoint | GatewayError {
    const full: Endpoint[] = [];
    for (;;) {
      const e = this.#opts.picker.pick({ model, regions, tried: full });
      if (e === undefined || full.includes(e)) break;
      if (e.connections === 0 || (this.#open.get(e) ?? 0) < e.connections) return e;
      full.push(e);
    }
    return full.length > 0
      ? new GatewayError('RG_ERR_TUNNEL_LIMIT', { message: `every endpoint for this request has its connections limit of open tunnels (${full.map((e) => e.id).join(', ')})` })
      : new GatewayError('RG_ERR_NO_ENDPOINT');
  }

  #tlsAgent(endpoint: Endpoint): HttpsAgent | undefined {
    if (endpoint.tls === undefined || !endpoint.origin.startsWith('https:')) return undefined;
    const held = this.#tlsAgents.get(endpoint);
    // A reload swapped re-read certificates in: new handshakes use them (the agent keeps no sockets alive).
    if (held !== undefined && held.tls === endpoint.tls) return held.agent;
    const agent = new HttpsAgent({ keepAlive: false, ...tlsConnectOptions(endpoint.tls) });
    this.#tlsAgents.set(endpoint, { tls: endpoint.tls, agent });
    return agent;
  }

  /** Cut every tunnel. */
  close(): void {
    for (const { agent } of this.#tlsAgents.values()) agent.destroy();
    this.#tlsAgents.clear();
    for (const t of [...this.#tunnels]) t.close();
    this.#tunnels.clear();
  }
}
