/**
 * One request/response exchange inside a simulator, and the low-level ways to answer it: a JSON body
 * (cut in the middle when a `reset` fault asks so), Server-Sent Events written one frame per write, and
 * cutting the connection.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { CapacityModel } from './capacity.js';

/** The resolved behaviour of a simulated region. */
export interface SimProfile {
  readonly name: string;
  readonly latencyMs: number;
  readonly ttftMs: number;
  readonly tokens: number;
  readonly tokenIntervalMs: number;
  /** Served model ids; `'*'` serves any. */
  readonly models: readonly string[];
  /** Concurrent sequences (0 = unlimited); see `capacity.ts`. */
  readonly capacity: number;
  readonly kvPerSequence: number;
}

export interface SimExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The raw path, without the query string. */
  readonly path: string;
  /** The raw query string, without `?` (empty when none). */
  readonly query: string;
  readonly body: Buffer;
  readonly profile: SimProfile;
  /** Unique per response (`chatcmpl-…` ids are built from it). */
  readonly seq: number;
  /** Set by a `reset` fault with `afterTokens`: cut after that many tokens, or halfway through a body. */
  readonly resetAfter: number | undefined;
  /** The server's capacity model: a chat completion holds a slot from its admission to its last byte. */
  readonly capacity: CapacityModel;
  /** Fires when the client goes away. */
  readonly signal: AbortSignal;
  /** Wait `ms`; `false` when the client went away or the simulator closed meanwhile. */
  sleep(ms: number): Promise<boolean>;
}

/** Read a whole request body (up to `limit` bytes; more destroys the request). */
export function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy(new Error(`request body over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * Close the connection under an exchange without a TCP reset: FIN once the bytes already written are
 * flushed, then destroy, so the client sees them and then a premature end.
 */
export function cutConnection(ex: SimExchange): void {
  const socket = ex.req.socket;
  if (!socket.destroyed) socket.destroySoon();
}

/** Reset the connection (RST) before any response byte: the client sees ECONNRESET. */
export function resetConnection(socket: Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/**
 * Answer with a JSON body. Under a mid-body `reset` fault the headers (with the full content-length)
 * and half the body are written, then the connection is cut.
 */
export function sendJson(ex: SimExchange, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const payload = Buffer.from(JSON.stringify(body));
  ex.res.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length, ...headers });
  if (ex.resetAfter === undefined) {
    ex.res.end(payload);
    return;
  }
  ex.res.write(payload.subarray(0, Math.max(1, payload.length >> 1)));
  cutConnection(ex);
}

/** Send SSE headers and flush them at once (before the first event). */
export function startSse(ex: SimExchange): void {
  ex.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  ex.res.flushHeaders();
}

/** Write one `data:` event as its own write. Returns `false` when the client is gone. */
export function writeSse(ex: SimExchange, data: string): boolean {
  if (ex.res.destroyed || ex.res.writableEnded) return false;
  ex.res.write(`data: ${data}\n\n`);
  return true;
}

/** End a stream with `data: [DONE]`. */
export function endSse(ex: SimExchange): void {
  if (!writeSse(ex, '[DONE]')) return;
  ex.res.end();
}
