/**
 * The one place where upstream failures become client-facing errors (502/503/504), like
 * @fastify/reply-from's mapping. Also classifies each failure as an Envoy local-origin kind for health.
 */
import { GatewayError } from '../errors.js';
import type { LocalOriginFailure } from '../health/attempt-outcome.js';

export interface MappedFailure {
  readonly error: GatewayError;
  readonly failure: LocalOriginFailure;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

/** Map an error raised by an upstream attempt (undici, net, or one of our own timeouts). */
export function toGatewayError(err: unknown): MappedFailure {
  if (err instanceof GatewayError) return { error: err, failure: failureOf(err) };
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (CONNECT_CODES.has(code))
      return { error: new GatewayError('RG_ERR_UPSTREAM_CONNECT', { cause: err, beforeUpstream: true }), failure: 'connect_refused' };
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT')
      return { error: new GatewayError('RG_ERR_UPSTREAM_CONNECT_TIMEOUT', { cause: err, beforeUpstream: true }), failure: 'connect_timeout' };
    if (code === 'UND_ERR_HEADERS_TIMEOUT')
      return { error: new GatewayError('RG_ERR_FIRST_BYTE_TIMEOUT', { cause: err }), failure: 'first_byte_timeout' };
    if (code === 'UND_ERR_BODY_TIMEOUT')
      return { error: new GatewayError('RG_ERR_UPSTREAM_IDLE_TIMEOUT', { cause: err }), failure: 'idle_timeout' };
    if (RESET_CODES.has(code))
      return { error: new GatewayError('RG_ERR_UPSTREAM_RESET', { cause: err }), failure: 'reset' };
  }
  return { error: new GatewayError('RG_ERR_UPSTREAM', { cause: err }), failure: 'reset' };
}

function failureOf(err: GatewayError): LocalOriginFailure {
  switch (err.code) {
    case 'RG_ERR_UPSTREAM_CONNECT':
      return 'connect_refused';
    case 'RG_ERR_UPSTREAM_CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'RG_ERR_FIRST_BYTE_TIMEOUT':
    case 'RG_ERR_REQUEST_TIMEOUT':
      return 'first_byte_timeout';
    case 'RG_ERR_UPSTREAM_IDLE_TIMEOUT':
      return 'idle_timeout';
    default:
      return 'reset';
  }
}
