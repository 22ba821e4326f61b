/**
 * The one place that judges a failed upstream attempt or probe: what the client is told (502/503/504/4xx, like
 * @fastify/reply-from's mapping), whether it is evidence about the endpoint, and whether another endpoint
 * may be tried. An allow-list: only failures recognised here as the endpoint's (Envoy's local-origin
 * kinds, a 502/503/504 answer) feed outlier detection and breakers. The client's fault, the gateway's own
 * and anything unrecognised are never blamed on an endpoint; an unrecognised error is a 502
 * `RG_ERR_UNCLASSIFIED`, not retried, and logged.
 */
import { GatewayError, type ErrorCode } from '../errors.js';
import { isTlsFailure } from '../transport/tls-failure.js';
import type { LocalOriginFailure } from './attempt-outcome.js';

/**
 * May another endpoint be tried after a failure?
 * - `free`: the request never left the gateway; safe for any method, and costs no retry budget.
 * - `replay`: the endpoint may have seen the request; only where the request is replayable.
 * - `never`: retrying cannot help or is not ours to do (the client's fault, the gateway's own, unknown).
 */
export type RetryClass = 'free' | 'replay' | 'never';

export interface FailureVerdict {
  readonly error: GatewayError;
  /** What the failure says about the endpoint; undefined = nothing (it is not the endpoint's fault). */
  readonly evidence: LocalOriginFailure | undefined;
  readonly retry: RetryClass;
  /** Not recognised: the caller logs it. */
  readonly unrecognised: boolean;
}

/** Refused before any byte reached the endpoint: DNS, routing, refused ports. */
const CONNECT_REFUSED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);
/** The connection broke after it was made, or the endpoint's bytes were not HTTP. */
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);
/** The gateway's own resources (ports, descriptors, memory): no endpoint is to blame. */
const GATEWAY_RESOURCES = new Set(['EADDRNOTAVAIL', 'EADDRINUSE', 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);
/** The request as the client sent it cannot be forwarded (undici refused to send it). */
const UNFORWARDABLE = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
]);
/** The gateway closed its own pool (shutdown) or cancelled the attempt. */
const GATEWAY_CLOSED = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_ABORTED', 'ABORT_ERR']);

/**
 * The gateway's own timers and refusals, as raised by `Attempt` and the connection queue. The first-byte
 * and idle timeouts are only these: undici's `headersTimeout`/`bodyTimeout` are off on the upstream pools
 * (`upstream-pools.ts`), so its `UND_ERR_HEADERS_TIMEOUT`/`UND_ERR_BODY_TIMEOUT` cannot reach this judge.
 */
const OWN: Partial<Record<ErrorCode, { evidence: LocalOriginFailure | undefined; retry: RetryClass }>> = {
  RG_ERR_UPSTREAM_CONNECT: { evidence: 'connect_refused', retry: 'free' },
  RG_ERR_UPSTREAM_TLS: { evidence: 'connect_refused', retry: 'free' },
  RG_ERR_UPSTREAM_CONNECT_TIMEOUT: { evidence: 'connect_timeout', retry: 'free' },
  // Evidence only where the endpoint showed no sign of life meanwhile: the health tracker judges.
  RG_ERR_FIRST_BYTE_TIMEOUT: { evidence: 'first_byte_timeout', retry: 'replay' },
  RG_ERR_UPSTREAM_IDLE_TIMEOUT: { evidence: 'idle_timeout', retry: 'never' },
  RG_ERR_UPSTREAM_RESET: { evidence: 'reset', retry: 'replay' },
  RG_ERR_QUEUE_TIMEOUT: { evidence: undefined, retry: 'free' },
  // The credential manager already holds the endpoint out; the request never left the gateway.
  RG_ERR_CREDENTIALS_EXPIRED: { evidence: undefined, retry: 'free' },
  // A drill's injected fault: retried like the failure it stands for (an upstream 503, a first-byte
  // timeout: only a replayable request, within the retry budget), but never evidence about the endpoint.
  RG_ERR_FAULT_INJECTED: { evidence: undefined, retry: 'replay' },
  RG_ERR_FAULT_HANG: { evidence: undefined, retry: 'replay' },
};

/** Judge an error raised by an upstream attempt (undici, node:net/tls, or one of the gateway's own). */
export function classifyFailure(err: unknown): FailureVerdict {
  if (err instanceof GatewayError) {
    const own = OWN[err.code];
    return own === undefined ? verdict(err, undefined, 'never') : verdict(err, own.evidence, own.retry);
  }
  const code = errorCode(err);
  if (code !== undefined) {
    if (CONNECT_REFUSED.has(code)) return verdict(new GatewayError('RG_ERR_UPSTREAM_CONNECT', { cause: err }), 'connect_refused', 'free');
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT')
      return verdict(new GatewayError('RG_ERR_UPSTREAM_CONNECT_TIMEOUT', { cause: err }), 'connect_timeout', 'free');
    if (isTlsFailure(code)) return verdict(new GatewayError('RG_ERR_UPSTREAM_TLS', { cause: err }), 'connect_refused', 'free');
    // A TLS alert right after the handshake (a refused client certificate under TLS 1.3) reaches the
    // request as undici's socket error with the alert as its cause (`transport/tls-connect.ts`): the endpoint
    // never took the request, so it is a TLS failure like one during the handshake.
    const cause = errorCode((err as { cause?: unknown }).cause);
    if (code === 'UND_ERR_SOCKET' && cause !== undefined && isTlsFailure(cause))
      return verdict(new GatewayError('RG_ERR_UPSTREAM_TLS', { cause: (err as { cause?: unknown }).cause }), 'connect_refused', 'free');
    if (code === 'UND_ERR_SOCKET' && (err as Error).message === 'bad response') {
      // undici drops the connection on an interim `100 Continue` it did not ask for. A 1xx is no failure
      // of the endpoint; the request may have been read, so only the replay policy may send it elsewhere.
      return verdict(
        new GatewayError('RG_ERR_UPSTREAM_PROTOCOL', { cause: err, message: 'The regional endpoint sent an interim response (100 Continue) that was not asked for.' }),
        undefined,
        'replay',
      );
    }
    if (RESET.has(code) || code.startsWith('HPE_')) return verdict(new GatewayError('RG_ERR_UPSTREAM_RESET', { cause: err }), 'reset', 'replay');
    if (GATEWAY_RESOURCES.has(code)) return verdict(new GatewayError('RG_ERR_GATEWAY_RESOURCES', { cause: err }), undefined, 'never');
    if (UNFORWARDABLE.has(code))
      return verdict(new GatewayError('RG_ERR_BAD_REQUEST', { cause: err, message: `The request cannot be forwarded: ${(err as Error).message}` }), undefined, 'never');
    if (GATEWAY_CLOSED.has(code)) return verdict(new GatewayError('RG_ERR_DRAINING', { cause: err }), undefined, 'never');
  }
  return { error: new GatewayError('RG_ERR_UNCLASSIFIED', { cause: err }), evidence: undefined, retry: 'never', unrecognised: true };
}

/** Whether `err` is the gateway's own trouble (its resources, its shutdown): never a verdict on an endpoint. */
export function isGatewayOwnFailure(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && (GATEWAY_RESOURCES.has(code) || GATEWAY_CLOSED.has(code));
}

/** The status classes an answer falls in, for health: Envoy counts 502/503/504 as gateway failures, apart from other 5xx. */
export type AnswerClass = 'success' | 'rate_limited' | 'gateway_failure' | 'server_error';

export function classifyAnswer(status: number): AnswerClass {
  if (status === 429) return 'rate_limited';
  if (status === 502 || status === 503 || status === 504) return 'gateway_failure';
  return status >= 500 ? 'server_error' : 'success';
}

/** A failure after the answer started is told as such: the client already has part of it. */
export function brokenAnswer(v: FailureVerdict): GatewayError {
  // An idle timeout only ever happens mid-answer: its own code already says so.
  if (v.error.code === 'RG_ERR_UPSTREAM_IDLE_TIMEOUT') return v.error;
  return new GatewayError('RG_ERR_UPSTREAM_BROKEN', {
    cause: v.error,
    message: `The regional endpoint's answer broke off after it had started (${brokenHow(v)}).`,
  });
}

function brokenHow(v: FailureVerdict): string {
  switch (v.evidence) {
    case 'reset':
      return 'the connection was reset mid-answer';
    case undefined:
      return v.error.code;
    default:
      return v.evidence.replace(/_/g, ' ');
  }
}

function verdict(error: GatewayError, evidence: LocalOriginFailure | undefined, retry: RetryClass): FailureVerdict {
  return { error, evidence, retry, unrecognised: false };
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
