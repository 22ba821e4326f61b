/**
 * Gateway-made error responses: OpenAI-style JSON body, the same `x-regiongate-*` headers as proxied
 * responses, and nothing at all once response headers have been sent (then the only honest signal is
 * an abnormal end).
 */
import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors.js';

export interface ErrorContext {
  readonly requestId?: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly attempts: number;
  /** Close the client connection after the answer (e.g. an unread request body). */
  readonly close?: boolean;
}

/** Refusals that say nothing about the request itself: the client may try again in a second. */
export const RETRY_SOON: ReadonlySet<string> = new Set([
  'RG_ERR_RETRY_BUDGET',
  'RG_ERR_NO_ENDPOINT',
  'RG_ERR_DRAINING',
  'RG_ERR_QUEUE_TIMEOUT',
  'RG_ERR_BUFFER_FULL',
  'RG_ERR_GATEWAY_RESOURCES',
  'RG_ERR_TUNNEL_LIMIT',
]);

/** The body and headers of a gateway error answer, shared by `sendError` and the raw-socket writer. */
export function errorAnswer(err: GatewayError, ctx: Omit<ErrorContext, 'close'>): { body: string; headers: string[] } {
  const body = JSON.stringify(err.toJSON());
  const headers: string[] = [
    'content-type', 'application/json',
    'content-length', String(Buffer.byteLength(body)),
    'x-regiongate-attempts', String(ctx.attempts),
    'x-regiongate-error', err.code,
  ];
  if (ctx.requestId) headers.push('x-request-id', ctx.requestId);
  if (ctx.region) headers.push('x-regiongate-region', ctx.region);
  if (ctx.endpoint) headers.push('x-regiongate-endpoint', ctx.endpoint);
  if (RETRY_SOON.has(err.code)) headers.push('retry-after', '1');
  return { body, headers };
}

export function sendError(res: ServerResponse, err: GatewayError, ctx: ErrorContext): void {
  if (res.headersSent || res.destroyed) {
    res.destroy(err);
    return;
  }
  const { body, headers } = errorAnswer(err, ctx);
  // HTTP/2 has no connection header (RFC 9113 §8.2.2; Node throws on one): its streams end on their own.
  if (ctx.close && res.req?.httpVersionMajor !== 2) headers.push('connection', 'close');
  res.writeHead(err.statusCode, headers);
  res.end(body);
}

/**
 * End a response that broke after its headers went out: never a clean end that looks complete. An SSE
 * client is first told why, in an `event: error` frame, then the connection is cut.
 */
export function endBrokenStream(res: ServerResponse, eventStream: boolean, err: GatewayError): void {
  if (!eventStream || res.destroyed) return void res.destroy(err);
  const cut = setTimeout(() => res.destroy(err), 1000);
  res.write(`event: error\ndata: ${JSON.stringify(err.toJSON())}\n\n`, () => {
    clearTimeout(cut);
    res.destroy(err);
  });
}
