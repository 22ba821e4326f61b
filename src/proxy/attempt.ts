/**
 * One upstream attempt of an exchange: an undici dispatch handler with precise timers of its own for the
 * wait for a free connection, connect, first byte and idle time between chunks. It never writes to the
 * client before the exchange commits to it, so a failed attempt can still be retried elsewhere. What a
 * failure means is decided by `classifyFailure`, nowhere else.
 */
import type { Span } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import type { AttemptOutcome } from '../health/attempt-outcome.js';
import { sendsOwnCredentials, type Endpoint } from '../registry/endpoint.js';
import { brokenAnswer, classifyAnswer, classifyFailure, type FailureVerdict } from '../health/classify-failure.js';

/** `fault_delay` and `fault_hang`: a drill's injected fault holds the attempt before anything is sent. */
type Phase = 'fault_delay' | 'fault_hang' | 'queued' | 'connect' | 'first_byte' | 'body' | 'done';

/** What an attempt needs from its exchange. */
export interface AttemptOwner {
  /** Longest wait for a free connection to the endpoint (`connections` reached). */
  readonly queueTimeout: number;
  readonly connectTimeout: number;
  readonly firstByteTimeout: number;
  readonly idleTimeout: number;
  /** Headers arrived: return true to take this response (commit), false when the attempt was retried instead. */
  onResponse(attempt: Attempt, status: number, headers: Record<string, string | string[] | undefined>): boolean;
  onData(attempt: Attempt, chunk: Buffer): boolean;
  onEnd(attempt: Attempt): void;
  /** Failed before commit: the exchange may retry. */
  onFailure(attempt: Attempt, verdict: FailureVerdict, elapsedMs: number): void;
  /** Failed after commit: the client's response must end abnormally. */
  onBroken(attempt: Attempt, error: GatewayError): void;
  report(outcome: AttemptOutcome, attempt: Attempt): void;
  /** The endpoint sent response headers (any status). */
  answered(attempt: Attempt): void;
}

/** Where an attempt's connection slot comes from (`UpstreamPools`). */
export interface SlotSource {
  /** Called exactly once per attempt that was sent, when it no longer needs its connection. */
  release(endpoint: Endpoint): void;
}

export class Attempt implements Dispatcher.DispatchHandler {
  readonly endpoint: Endpoint;
  /** The attempt's trace span, when tracing is on. */
  span: Span | undefined;
  /** The request to send, kept while the attempt waits for a free connection. */
  request: Dispatcher.DispatchOptions | undefined;
  /** The endpoint's own id for the request's model, when it differs from the client's (`models` as a map). */
  upstreamModel: string | undefined;
  readonly #owner: AttemptOwner;
  #controller: Dispatcher.DispatchController | undefined;
  #slots: SlotSource | undefined;
  #phase: Phase = 'queued';
  #timer: NodeJS.Timeout | undefined;
  #phaseStart = performance.now();
  #sentAt = 0;
  #lastChunk = 0;
  /** Paused because the client reads slower than the endpoint writes: silence is then the client's doing. */
  #paused = false;
  #status = 0;
  #ttfbMs = 0;
  #retryAfterMs: number | undefined;
  /** Set once the exchange no longer wants this attempt: every later callback aborts or is ignored. */
  #stale = false;
  #committed = false;
  /** `fault_delay`: what to do when the injected delay is over; `fault_hang`: the error to fail with. */
  #faultThen: (() => void) | undefined;
  #faultError: GatewayError | undefined;

  constructor(owner: AttemptOwner, endpoint: Endpoint) {
    this.#owner = owner;
    this.endpoint = endpoint;
  }

  get committed(): boolean {
    return this.#committed;
  }

  get status(): number {
    return this.#status;
  }

  /** Still wanted (not finished, failed or cancelled). */
  get live(): boolean {
    return !this.#stale;
  }

  /** All connections are busy: wait (bounded by `queueTimeout`) until the pool calls `sent`. */
  queued(): void {
    this.#arm(this.#owner.queueTimeout);
  }

  /** The request is handed to undici now, holding one of `slots`' connections until it finishes. */
  sent(slots: SlotSource): void {
    this.#slots = slots;
    this.#phase = 'connect';
    this.#phaseStart = this.#sentAt = performance.now();
    this.#arm(this.#owner.connectTimeout);
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
    if (statusCode < 200) return; // 1xx informational (undici passes 103 and the like): wait for the final answer
    this.#ttfbMs = performance.now() - this.#phaseStart;
    this.#status = statusCode;
    if (statusCode === 429) this.#retryAfterMs = parseRetryAfter(headers['retry-after']);
    this.#clear();
    this.#owner.answered(this);
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
    if (!this.#owner.onData(this, chunk)) {
      this.#paused = true;
      controller.pause();
    }
  }

  onResponseEnd(): void {
    if (this.#stale) return;
    this.#finish();
    this.#owner.report(outcomeOf(this.endpoint, this.#status, this.#ttfbMs, this.#retryAfterMs), this);
    this.#owner.onEnd(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#stale) return;
    this.#fail(classifyFailure(err));
  }

  /** Fail before sending (nothing left the gateway), e.g. no credential is held for the endpoint. */
  refuse(error: GatewayError): void {
    if (!this.#stale) queueMicrotask(() => this.#stale || this.#fail(classifyFailure(error)));
  }

  /**
   * A drill's `hang` fault: nothing is sent; the attempt stalls until its first-byte timeout, then fails
   * with `error` (not the endpoint's fault), so the exchange retries or answers as for a real hang.
   */
  hang(error: GatewayError): void {
    if (this.#stale) return;
    this.#faultError = error;
    this.#phase = 'fault_hang';
    this.#phaseStart = performance.now();
    this.#arm(this.#owner.firstByteTimeout);
  }

  /** A drill's `slow` fault: `send` runs after `ms` (unless the attempt is cancelled meanwhile). */
  delay(ms: number, send: () => void): void {
    if (this.#stale) return;
    this.#faultThen = send;
    this.#phase = 'fault_delay';
    this.#arm(ms);
  }

  /** Resume a paused body after the client drained its buffer; the endpoint's silence is timed afresh. */
  resume(): void {
    if (this.#stale) return;
    this.#paused = false;
    this.#lastChunk = performance.now();
    this.#controller?.resume();
  }

  /** The exchange gave up on this attempt (client gone, deadline): abort, report nothing bad. */
  cancel(reason: GatewayError): void {
    this.#cancel(reason, undefined);
  }

  /**
   * Another attempt of the same request answered first (a hedge race): abort like `cancel`, and when
   * this one was still waiting for its answer, report how slow the endpoint was at least.
   */
  loseRace(reason: GatewayError): void {
    const waiting = this.#phase === 'connect' || this.#phase === 'first_byte';
    this.#cancel(reason, waiting ? performance.now() - this.#sentAt : undefined);
  }

  #cancel(reason: GatewayError, ttfbAtLeastMs: number | undefined): void {
    if (this.#stale) return;
    this.#finish();
    this.#owner.report(ttfbAtLeastMs === undefined ? { kind: 'cancelled', endpoint: this.endpoint } : { kind: 'cancelled', endpoint: this.endpoint, ttfbAtLeastMs }, this);
    this.#controller?.abort(reason);
  }

  #fail(verdict: FailureVerdict): void {
    const wasCommitted = this.#committed;
    const elapsedMs = performance.now() - this.#phaseStart;
    this.#finish();
    this.#controller?.abort(verdict.error);
    const e = this.endpoint;
    this.#owner.report(
      verdict.evidence === undefined ? { kind: 'excused', endpoint: e, code: verdict.error.code } : { kind: 'local_origin', endpoint: e, failure: verdict.evidence, elapsedMs },
      this,
    );
    if (wasCommitted) this.#owner.onBroken(this, brokenAnswer(verdict));
    else this.#owner.onFailure(this, verdict, elapsedMs);
  }

  #finish(): void {
    this.#stale = true;
    this.#faultThen = undefined;
    this.#phase = 'done';
    this.request = undefined;
    this.#clear();
    const slots = this.#slots;
    if (slots !== undefined) {
      this.#slots = undefined;
      slots.release(this.endpoint);
    }
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
      case 'fault_delay': {
        const send = a.#faultThen;
        a.#faultThen = undefined;
        a.#phase = 'queued';
        return send?.();
      }
      case 'fault_hang':
        return a.#fail(classifyFailure(a.#faultError ?? new GatewayError('RG_ERR_FAULT_HANG')));
      case 'queued':
        return a.#fail(classifyFailure(new GatewayError('RG_ERR_QUEUE_TIMEOUT')));
      case 'connect':
        return a.#fail(classifyFailure(new GatewayError('RG_ERR_UPSTREAM_CONNECT_TIMEOUT')));
      case 'first_byte':
        return a.#fail(classifyFailure(new GatewayError('RG_ERR_FIRST_BYTE_TIMEOUT')));
      case 'body': {
        // Lazy re-arm: chunks only stamp a time, the timer checks it when it fires. While the client
        // holds the stream back, the endpoint is not silent: it waits for us (the request deadline bounds it).
        if (a.#paused) return void (a.#timer = setTimeout(Attempt.#onTimer, a.#owner.idleTimeout, a));
        const idle = performance.now() - a.#lastChunk;
        const left = a.#owner.idleTimeout - idle;
        if (left > 1) return void (a.#timer = setTimeout(Attempt.#onTimer, left, a));
        return a.#fail(classifyFailure(new GatewayError('RG_ERR_UPSTREAM_IDLE_TIMEOUT')));
      }
    }
  }
}

/** The health outcome of an attempt that got an answer with `status` (see `classifyAnswer`). */
export function outcomeOf(endpoint: Endpoint, status: number, ttfbMs: number, retryAfterMs: number | undefined): AttemptOutcome {
  switch (classifyAnswer(status)) {
    case 'rate_limited':
      return { kind: 'rate_limited', endpoint, retryAfterMs: retryAfterMs ?? 1000, ttfbMs, sharedCredentials: sendsOwnCredentials(endpoint) };
    case 'gateway_failure':
    case 'server_error':
      return { kind: 'upstream_5xx', endpoint, status, ttfbMs };
    case 'success':
      return { kind: 'success', endpoint, status, ttfbMs };
  }
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
