/**
 * One upstream attempt of an exchange: an undici dispatch handler with precise timers of its own for
 * connect, first byte and idle time between chunks. It never writes to the client before the exchange
 * commits to it, so a failed attempt can still be retried elsewhere.
 */
import type { Span } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import type { AttemptOutcome } from '../health/attempt-outcome.js';
import { sendsOwnCredentials, type Endpoint } from '../registry/endpoint.js';
import { toGatewayError, type MappedFailure } from './to-gateway-error.js';

type Phase = 'connect' | 'first_byte' | 'body' | 'done';

/** What an attempt needs from its exchange. */
export interface AttemptOwner {
  readonly connectTimeout: number;
  readonly firstByteTimeout: number;
  readonly idleTimeout: number;
  /** Headers arrived: return true to take this response (commit), false when the attempt was retried instead. */
  onResponse(attempt: Attempt, status: number, headers: Record<string, string | string[] | undefined>): boolean;
  onData(attempt: Attempt, chunk: Buffer): boolean;
  onEnd(attempt: Attempt): void;
  /** Failed before commit: the exchange may retry. */
  onFailure(attempt: Attempt, failure: MappedFailure): void;
  /** Failed after commit: the client's response must end abnormally. */
  onBroken(attempt: Attempt, failure: MappedFailure): void;
  report(outcome: AttemptOutcome, attempt: Attempt): void;
}

export class Attempt implements Dispatcher.DispatchHandler {
  readonly endpoint: Endpoint;
  /** The attempt's trace span, when tracing is on. */
  span: Span | undefined;
  readonly #owner: AttemptOwner;
  #controller: Dispatcher.DispatchController | undefined;
  #phase: Phase = 'connect';
  #timer: NodeJS.Timeout | undefined;
  #phaseStart = performance.now();
  readonly #started = this.#phaseStart;
  #lastChunk = 0;
  #status = 0;
  #ttfbMs = 0;
  #retryAfterMs: number | undefined;
  /** Set once the exchange no longer wants this attempt: every later callback aborts or is ignored. */
  #stale = false;
  #committed = false;

  constructor(owner: AttemptOwner, endpoint: Endpoint) {
    this.#owner = owner;
    this.endpoint = endpoint;
    this.#arm(owner.connectTimeout);
  }

  get committed(): boolean {
    return this.#committed;
  }

  get status(): number {
    return this.#status;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.#stale) return controller.abort(new GatewayError('RG_ERR_UPSTREAM', { message: 'attempt abandoned' }));
    this.#controller = controller;
    this.#phase = 'first_byte';
    this.#phaseStart = performance.now();
    this.#arm(this.#owner.firstByteTimeout);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#stale) return controller.abort(new GatewayError('RG_ERR_UPSTREAM', { message: 'attempt abandoned' }));
    if (statusCode < 200) return; // 1xx informational: wait for the final answer
    this.#ttfbMs = performance.now() - this.#phaseStart;
    this.#status = statusCode;
    if (statusCode === 429) this.#retryAfterMs = parseRetryAfter(headers['retry-after']);
    this.#clear();
    if (!this.#owner.onResponse(this, statusCode, headers)) {
      // The exchange retries elsewhere: drop this response without a byte reaching the client.
      this.#finish();
      this.#owner.report(outcomeOf(this.endpoint, statusCode, this.#ttfbMs, this.#retryAfterMs), this);
      controller.abort(new GatewayError('RG_ERR_UPSTREAM', { message: 'response replaced by a retry' }));
      return;
    }
    this.#committed = true;
    this.#phase = 'body';
    this.#lastChunk = performance.now();
    this.#arm(this.#owner.idleTimeout);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#stale) return;
    this.#lastChunk = performance.now();
    if (!this.#owner.onData(this, chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#stale) return;
    this.#finish();
    this.#owner.report(outcomeOf(this.endpoint, this.#status, this.#ttfbMs, this.#retryAfterMs), this);
    this.#owner.onEnd(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#stale) return;
    this.#fail(toGatewayError(err));
  }

  /** Resume a paused body after the client drained its buffer. */
  resume(): void {
    this.#controller?.resume();
  }

  /** The exchange gave up on this attempt (client gone, deadline, hedge lost): abort, report nothing bad. */
  cancel(reason: GatewayError, lostRace = false): void {
    if (this.#stale) return;
    // A hedge loser still waiting for its answer tells how slow the endpoint is at least.
    const waiting = lostRace && (this.#phase === 'connect' || this.#phase === 'first_byte');
    const ttfbAtLeastMs = waiting ? performance.now() - this.#started : undefined;
    this.#finish();
    this.#owner.report(ttfbAtLeastMs === undefined ? { kind: 'cancelled', endpoint: this.endpoint } : { kind: 'cancelled', endpoint: this.endpoint, ttfbAtLeastMs }, this);
    this.#controller?.abort(reason);
  }

  #fail(failure: MappedFailure): void {
    const wasCommitted = this.#committed;
    const elapsedMs = performance.now() - this.#phaseStart;
    this.#finish();
    this.#controller?.abort(failure.error);
    this.#owner.report({ kind: 'local_origin', endpoint: this.endpoint, failure: failure.failure, elapsedMs }, this);
    if (wasCommitted) this.#owner.onBroken(this, failure);
    else this.#owner.onFailure(this, failure);
  }

  #finish(): void {
    this.#stale = true;
    this.#phase = 'done';
    this.#clear();
  }

  #arm(ms: number): void {
    this.#clear();
    if (ms > 0) this.#timer = setTimeout(Attempt.#onTimer, ms, this);
  }

  #clear(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  static #onTimer(a: Attempt): void {
    a.#timer = undefined;
    if (a.#stale) return;
    switch (a.#phase) {
      case 'connect':
        return a.#fail({ error: new GatewayError('RG_ERR_UPSTREAM_CONNECT_TIMEOUT', { beforeUpstream: true }), failure: 'connect_timeout' });
      case 'first_byte':
        return a.#fail({ error: new GatewayError('RG_ERR_FIRST_BYTE_TIMEOUT'), failure: 'first_byte_timeout' });
      case 'body': {
        // Lazy re-arm: chunks only stamp a time, the timer checks it when it fires.
        const idle = performance.now() - a.#lastChunk;
        const left = a.#owner.idleTimeout - idle;
        if (left > 1) return void (a.#timer = setTimeout(Attempt.#onTimer, left, a));
        return a.#fail({ error: new GatewayError('RG_ERR_UPSTREAM_IDLE_TIMEOUT'), failure: 'idle_timeout' });
      }
    }
  }
}

/** The health outcome of an attempt that got an answer with `status`. */
export function outcomeOf(endpoint: Endpoint, status: number, ttfbMs: number, retryAfterMs: number | undefined): AttemptOutcome {
  if (status === 429) return { kind: 'rate_limited', endpoint, retryAfterMs: retryAfterMs ?? 1000, ttfbMs, sharedCredentials: sendsOwnCredentials(endpoint) };
  if (status >= 500) return { kind: 'upstream_5xx', endpoint, status, ttfbMs };
  return { kind: 'success', endpoint, status, ttfbMs };
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
