/**
 * One WebSocket tunnel: the client's upgrade request sent to an endpoint on a connection of its own,
 * under the same limits as a plain request (connect timeout, then a handshake timeout until the
 * endpoint answers, then an idle timeout on the open tunnel), and the endpoint's answer relayed under
 * the same header rules: a `101` splices the two sockets, any other answer is passed on as a normal
 * HTTP response, a failure becomes a gateway error response.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { GatewayError } from '../errors.js';
import type { Endpoint } from '../registry/endpoint.js';
import { downstreamHeaders } from './headers.js';
import { rawHead, sendRawError } from './raw-response.js';
import { toGatewayError } from './to-gateway-error.js';

export interface TunnelLimits {
  readonly connectTimeout: number;
  /** From the upgrade request sent to the endpoint's answer (`timeouts.firstByte`). */
  readonly handshakeTimeout: number;
  /** Longest silence, both directions, on an open tunnel (`timeouts.idle`). */
  readonly idleTimeout: number;
}

export class Tunnel {
  readonly endpoint: Endpoint;
  readonly #client: Socket;
  readonly #requestId: string;
  readonly #upstream: ClientRequest;
  readonly #onClose: (t: Tunnel) => void;
  #timer: NodeJS.Timeout | undefined;
  #upSocket: Socket | undefined;
  #answered = false;
  #closed = false;

  /** Send the upgrade request (`path`, `headers` already under the header rules) to `endpoint`. */
  constructor(
    client: Socket,
    head: Buffer,
    endpoint: Endpoint,
    path: string,
    headers: string[],
    requestId: string,
    limits: TunnelLimits,
    onClose: (t: Tunnel) => void,
  ) {
    this.endpoint = endpoint;
    this.#client = client;
    this.#requestId = requestId;
    this.#onClose = onClose;
    const url = new URL(endpoint.origin);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    this.#upstream = send({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      servername: url.protocol === 'https:' ? url.hostname : undefined,
      method: 'GET',
      path,
      headers,
      agent: false, // a tunnel holds its connection for life: never one of the pool's
      setHost: false,
    });
    this.#arm(limits.connectTimeout, () => this.#fail(new GatewayError('RG_ERR_UPSTREAM_CONNECT_TIMEOUT')));
    this.#upstream.once('socket', (s: Socket) => {
      const connected = () => this.#arm(limits.handshakeTimeout, () => this.#fail(new GatewayError('RG_ERR_FIRST_BYTE_TIMEOUT')));
      if (s.connecting) s.once('connect', connected);
      else connected();
    });
    this.#upstream.on('error', (err) => this.#fail(toGatewayError(err).error));
    this.#upstream.once('upgrade', (res: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      this.#splice(res, upSocket, upHead, head, limits.idleTimeout);
    });
    this.#upstream.once('response', (res: IncomingMessage) => this.#relayAnswer(res, limits.idleTimeout));
    client.once('close', () => this.close());
    this.#upstream.end();
  }

  /** Cut both sides now. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clear();
    this.#upstream.destroy();
    this.#upSocket?.destroy();
    this.#client.destroy();
    this.#onClose(this);
  }

  /** The endpoint switched protocols: answer the client in kind, then relay bytes both ways. */
  #splice(res: IncomingMessage, upSocket: Socket, upHead: Buffer, clientHead: Buffer, idleTimeout: number): void {
    this.#clear();
    this.#upSocket = upSocket;
    if (this.#closed) return void upSocket.destroy();
    this.#answered = true;
    const client = this.#client;
    const headers = this.#ownHeaders(downstreamHeaders(res.headers));
    headers.push('connection', 'Upgrade', 'upgrade', String(res.headers.upgrade ?? 'websocket'));
    client.write(rawHead(101, headers));
    if (upHead.length > 0) client.write(upHead);
    if (clientHead.length > 0) upSocket.write(clientHead);
    upSocket.on('error', () => this.close());
    upSocket.once('close', () => this.close());
    // Reads and writes both count as activity on the client socket: one timer covers both directions.
    if (idleTimeout > 0) client.setTimeout(idleTimeout, () => this.close());
    upSocket.pipe(client, { end: false });
    client.pipe(upSocket, { end: false });
    // WebSocket closes with frames of its own, so a FIN from either side ends the whole tunnel: pass it
    // on, and once it is flushed, release both sockets (and the endpoint's tunnel slot).
    client.once('end', () => this.#endTowards(upSocket));
    upSocket.once('end', () => this.#endTowards(client));
  }

  #endTowards(other: Socket): void {
    other.end(() => this.close());
  }

  /** The endpoint refused the upgrade with an ordinary answer: pass it on, then close. */
  #relayAnswer(res: IncomingMessage, idleTimeout: number): void {
    this.#clear();
    if (this.#closed) return void res.destroy();
    this.#answered = true;
    const headers = this.#ownHeaders(downstreamHeaders(res.headers));
    headers.push('connection', 'close');
    const client = this.#client;
    client.write(rawHead(res.statusCode ?? 502, headers));
    if (idleTimeout > 0) client.setTimeout(idleTimeout, () => this.close());
    res.on('error', () => this.close());
    res.on('end', () => {
      client.end();
      this.#upstream.destroy();
    });
    res.pipe(client, { end: false });
  }

  #ownHeaders(out: string[]): string[] {
    const e = this.endpoint;
    out.push('x-regiongate-region', e.region, 'x-regiongate-endpoint', e.id, 'x-regiongate-attempts', '1', 'x-request-id', this.#requestId);
    return out;
  }

  #fail(err: GatewayError): void {
    if (this.#closed) return;
    if (this.#answered) return this.close(); // the answer is under way: only a cut is honest now
    this.#answered = true;
    this.#clear();
    this.#upstream.destroy();
    const e = this.endpoint;
    sendRawError(this.#client, err, { requestId: this.#requestId, region: e.region, endpoint: e.id, attempts: 1 });
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
