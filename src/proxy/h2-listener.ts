/**
 * HTTP/2 toward clients (`listen.http2` with `listen.tls`): one TLS port that offers `h2` and `http/1.1` by
 * ALPN (`allowHTTP1`), so HTTP/1.1 clients and WebSocket upgrades (HTTP/1.1 only) keep working beside h2.
 * Requests of both versions reach the same handler through Node's compatibility API, whose request and
 * response objects carry the members the data path uses (headers, rawHeaders, url, method, socket, body
 * events, writeHead/write/end, 'close'). Node's HTTP/2 server has no `closeAllConnections` and does not take
 * the HTTP/1 limits as options: both are supplied here.
 */
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The HTTP/2 listener and what it holds open: sessions to send GOAWAY to, sockets to cut at a drain's deadline. */
export class H2Listener {
  readonly server: Http2SecureServer;
  /** Sets at connection rate, not request rate (a session carries many requests). */
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #sockets = new Set<Socket>();

  /** `idleMs`: an HTTP/2 session with no frames for this long is closed (no request can be silent longer). */
  constructor(http: ServerOptions, tls: TlsOptions, idleMs: number, onRequest: Handler) {
    // The compat objects stand in for IncomingMessage/ServerResponse (see the header); the cast is here only.
    const handler = onRequest as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void;
    const server = createSecureServer(
      {
        ...tls,
        allowHTTP1: true,
        // Node's defaults are unbounded streams per session and 64 KiB of headers: bound both like HTTP/1.1
        // (header bytes) and like nginx (128 concurrent streams).
        settings: { maxConcurrentStreams: 128, maxHeaderListSize: http.maxHeaderSize },
      },
      handler,
    );
    server.setTimeout(idleMs);
    // Sessions and HTTP/1.1 sockets both time out here: a session gets a GOAWAY, a socket is closed.
    server.on('timeout', (idle: ServerHttp2Session | Socket) => ('goaway' in idle ? idle.close() : idle.destroy()));
    // HTTP/1.1 connections on this server read these properties, not constructor options (Node 20).
    const h1 = server as unknown as Record<string, unknown>;
    h1.maxHeaderSize = http.maxHeaderSize;
    h1.headersTimeout = http.headersTimeout;
    h1.requestTimeout = http.requestTimeout;
    h1.keepAliveTimeout = http.keepAliveTimeout;
    h1.connectionsCheckingInterval = http.connectionsCheckingInterval;
    h1.requireHostHeader = true;
    server.on('session', (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      // A peer's protocol error ends its session only.
      session.on('error', () => session.destroy());
    });
    server.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.server = server;
  }

  /** GOAWAY to every session: streams in flight finish, no new ones start, then the session closes. */
  goAway(): void {
    for (const s of this.#sessions) if (!s.closed) s.close();
  }

  /** Cut every connection, both versions (a drain's deadline). */
  destroyAll(): void {
    for (const s of this.#sessions) s.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }
}

/**
 * Whether an HTTP/2 request has a body still to come: HTTP/2 frames a body without content-length or
 * chunked coding, so its absence says nothing; a request whose HEADERS frame ended the stream has none.
 */
export function h2BodyFollows(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2 && !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
}
