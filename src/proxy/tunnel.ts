/**
 * One WebSocket tunnel, around the outgoing request http-proxy makes for it: what http-proxy's `ws()`
 * does not do. It sends the upgrade under the gateway's header rules and to the gateway's path, bounds
 * the connect and handshake (http-proxy's `proxyTimeout` and `timeout` apply to `web()` only), rewrites
 * the endpoint's answer head under the response header rules before http-proxy writes it, bounds the
 * open tunnel's silence, turns a FIN from either side into the end of both, and releases its slot
 * exactly once. http-proxy connects, relays a non-101 answer, splices the sockets after a `101`, and
 * hands every failure to the callback that ends in `fail`.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { GatewayError } from '../errors.js';
import type { Endpoint } from '../registry/endpoint.js';
import { downstreamHeaders } from './headers.js';
import { sendRawError } from './raw-response.js';

export interface TunnelLimits {
  readonly connectTimeout: number;
  /** From the upgrade request sent to the endpoint's answer (`timeouts.firstByte`). */
  readonly handshakeTimeout: number;
  /** Longest silence, both directions, on an open tunnel (`timeouts.idle`). */
  readonly idleTimeout: number;
}

/** What the gateway sends upstream: the path (base path included) and headers, already under the rules. */
export interface TunnelRequest {
  readonly path: string;
  /** Flat `[name, value, ...]`, lower-cased names, `host`, `connection` and `upgrade` included. */
  readonly headers: readonly string[];
}

export class Tunnel {
  readonly endpoint: Endpoint;
  readonly #client: Socket;
  readonly #requestId: string;
  readonly #limits: TunnelLimits;
  readonly #onClose: (t: Tunnel) => void;
  #upstream: ClientRequest | undefined;
  #upSocket: Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #answered = false;
  #closed = false;

  constructor(client: Socket, endpoint: Endpoint, requestId: string, limits: TunnelLimits, onClose: (t: Tunnel) => void) {
    this.endpoint = endpoint;
    this.#client = client;
    this.#requestId = requestId;
    this.#limits = limits;
    this.#onClose = onClose;
    client.once('close', () => this.close());
  }

  /**
   * Take over http-proxy's outgoing request (its `proxyReqWs` event, before the head is sent): replace
   * the path and every header with the gateway's, arm the connect timer, and listen for the answer
   * ahead of http-proxy, so the head it writes to the client is already rewritten.
   */
  attach(upstream: ClientRequest, out: TunnelRequest): void {
    this.#upstream = upstream;
    if (this.#closed) return void upstream.destroy();
    // http-proxy built the path with url.parse and a join that folds `//` and rewrites `http:/`; the
    // endpoint must get the exact path the edge checks and the router saw. The request line is written
    // on `end()`, after this event.
    upstream.path = out.path;
    for (const name of upstream.getHeaderNames()) upstream.removeHeader(name);
    for (const [name, value] of Object.entries(headerRecord(out.headers))) upstream.setHeader(name, value);
    const { connectTimeout, handshakeTimeout } = this.#limits;
    // A timer destroys the request with the gateway's error: http-proxy passes it on to `fail`.
    this.#arm(connectTimeout, () => upstream.destroy(new GatewayError('RG_ERR_UPSTREAM_CONNECT_TIMEOUT')));
    upstream.once('socket', (s: Socket) => {
      const connected = (): void => this.#arm(handshakeTimeout, () => upstream.destroy(new GatewayError('RG_ERR_FIRST_BYTE_TIMEOUT')));
      if (s.connecting) s.once('connect', connected);
      else connected();
    });
    upstream.once('upgrade', (res: IncomingMessage, upSocket: Socket) => this.#opened(res, upSocket));
    upstream.once('response', (res: IncomingMessage) => this.#refused(res));
  }

  /** A failure of the upstream side, mapped: an error answer while none was sent, else a cut. */
  fail(err: GatewayError): void {
    if (this.#closed) return;
    if (this.#answered) return this.close(); // the answer is under way: only a cut is honest now
    this.#answered = true;
    this.#clear();
    this.#upstream?.destroy();
    const e = this.endpoint;
    sendRawError(this.#client, err, { requestId: this.#requestId, region: e.region, endpoint: e.id, attempts: 1 });
  }

  /** Cut both sides now. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clear();
    this.#upstream?.destroy();
    this.#upSocket?.destroy();
    this.#client.destroy();
    this.#onClose(this);
  }

  /** The endpoint switched protocols; http-proxy writes the 101 and splices the sockets after this. */
  #opened(res: IncomingMessage, upSocket: Socket): void {
    this.#clear();
    this.#upSocket = upSocket;
    if (this.#closed) return void upSocket.destroy();
    this.#answered = true;
    const head = this.#ownHeaders(downstreamHeaders(res.headers));
    head.push('connection', 'Upgrade', 'upgrade', String(res.headers.upgrade ?? 'websocket'));
    res.headers = headerRecord(head);
    const client = this.#client;
    upSocket.once('close', () => this.close());
    // http-proxy clears the client socket's timeout before this; reads and writes both count as
    // activity on it, so one timer covers both directions.
    if (this.#limits.idleTimeout > 0) client.setTimeout(this.#limits.idleTimeout, () => this.close());
    // WebSocket closes with frames of its own, so a FIN from either side ends the whole tunnel: pass it
    // on (http-proxy's pipes would leave the other direction open), and once flushed, release both.
    client.once('end', () => upSocket.end(() => this.close()));
    upSocket.once('end', () => client.end(() => this.close()));
  }

  /** The endpoint refused the upgrade with an ordinary answer; http-proxy relays it after this. */
  #refused(res: IncomingMessage): void {
    this.#clear();
    if (this.#closed) return void res.destroy();
    this.#answered = true;
    const head = this.#ownHeaders(downstreamHeaders(res.headers));
    // Without `transfer-encoding` (hop-by-hop) the body is delimited by the close.
    head.push('connection', 'close');
    res.headers = headerRecord(head);
    if (this.#limits.idleTimeout > 0) this.#client.setTimeout(this.#limits.idleTimeout, () => this.close());
    res.on('error', () => this.close());
    // The answer is complete: the endpoint's connection is of no further use.
    res.once('end', () => this.#upstream?.destroy());
  }

  #ownHeaders(out: string[]): string[] {
    const e = this.endpoint;
    out.push('x-regiongate-region', e.region, 'x-regiongate-endpoint', e.id, 'x-regiongate-attempts', '1', 'x-request-id', this.#requestId);
    return out;
  }

  #arm(ms: number, fire: () => void): void {
    this.#clear();
    if (ms > 0) this.#timer = setTimeout(fire, ms);
  }

  #clear(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** Flat `[name, value, ...]` pairs as the header object http-proxy and `setHeader` take; repeats become arrays. */
function headerRecord(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i];
    const prev = out[name];
    out[name] = prev === undefined ? flat[i + 1] : Array.isArray(prev) ? [...prev, flat[i + 1]] : [prev, flat[i + 1]];
  }
  return out;
}
