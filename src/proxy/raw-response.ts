/**
 * Gateway errors written straight onto a raw socket, where Node hands the gateway a socket instead of a
 * response object (Upgrade and CONNECT requests): a complete HTTP/1.1 answer with the same JSON body
 * and `x-regiongate-*` headers as `sendError`, then the connection closes.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GatewayError } from '../errors.js';
import { errorAnswer } from './error-response.js';

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
  const { body, headers } = errorAnswer(err, ctx);
  if (ctx.headers) headers.push(...ctx.headers);
  headers.push('connection', 'close');
  socket.end(rawHead(err.statusCode, headers) + body);
  setTimeout(() => socket.destroy(), 1000).unref();
}
