/**
 * Gateway errors written straight onto a raw socket, where Node hands the gateway a socket instead of a
 * response object (Upgrade and CONNECT requests): a complete HTTP/1.1 answer with the same JSON body
 * and `x-regiongate-*` headers as `sendError`, then the connection closes.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GatewayError } from '../errors.js';
import { RETRY_SOON } from './error-response.js';

export interface RawErrorContext {
  readonly requestId?: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly attempts: number;
  /** More header pairs, e.g. `allow` on a 405. */
  readonly headers?: readonly string[];
}

/** The status line and header block of a raw answer, from flat `[name, value, ...]` pairs. */
export function rawHead(status: number, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/** Answer `err` on `socket` and close it; a client that never reads the answer is cut after a second. */
export function sendRawError(socket: Duplex, err: GatewayError, ctx: RawErrorContext): void {
  if (socket.destroyed) return;
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(err.toJSON());
  const headers = [
    'content-type', 'application/json',
    'content-length', String(Buffer.byteLength(body)),
    'x-regiongate-attempts', String(ctx.attempts),
    'x-regiongate-error', err.code,
  ];
  if (ctx.requestId) headers.push('x-request-id', ctx.requestId);
  if (ctx.region) headers.push('x-regiongate-region', ctx.region);
  if (ctx.endpoint) headers.push('x-regiongate-endpoint', ctx.endpoint);
  if (RETRY_SOON.has(err.code)) headers.push('retry-after', '1');
  if (ctx.headers) headers.push(...ctx.headers);
  headers.push('connection', 'close');
  socket.end(rawHead(err.statusCode, headers) + body);
  setTimeout(() => socket.destroy(), 1000).unref();
}
