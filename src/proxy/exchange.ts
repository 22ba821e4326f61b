/**
 * One client request and its way through the gateway: buffer the body (so it can be replayed), pick an
 * endpoint, run attempts until one answers, then stream the answer back untouched. Retries happen only
 * before the first response byte is written to the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { attemptStartChannel, type AttemptStartMessage } from '../telemetry/diagnostics.js';
import type { RequestSpan } from '../telemetry/request-tracer.js';
import type { AttemptOutcome } from '../health/attempt-outcome.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { PickRequest } from '../routing/picker.js';
import { isRetryable } from '../routing/retry-policy.js';
import { Attempt, type AttemptOwner } from './attempt.js';
import { endBrokenStream, sendError } from './error-response.js';
import type { ExchangeDeps } from './exchange-deps.js';
import { responseHead, upstreamHeaders } from './headers.js';
import { requestModel, requestRegions } from './request-info.js';
import type { MappedFailure } from './to-gateway-error.js';

export type { ExchangeDeps, ExchangeOptions, RetryGate } from './exchange-deps.js';

/** Node streams carry their exchange here, so listeners are shared functions, not per-request closures. */
const kExchange = Symbol('regiongate.exchange');
type Tagged = { [kExchange]?: Exchange };

const HEDGE_LOST = new GatewayError('RG_ERR_UPSTREAM', { message: 'another attempt answered first' });
const CLIENT_GONE = new GatewayError('RG_ERR_UPSTREAM', { message: 'client disconnected' });

export class Exchange implements AttemptOwner, PickRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly tried: Endpoint[] = [];
  model: string | undefined = undefined;
  regions: ReadonlySet<string> | undefined = undefined;
  readonly #deps: ExchangeDeps;
  #chunks: Buffer[] = [];
  #bodyBytes = 0;
  #body: Buffer | null = null;
  /** Attempts still running: one, or more while hedging. */
  #live: Attempt[] = [];
  #winner: Attempt | undefined;
  #last: Attempt | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #hedgeTimer: NodeJS.Timeout | undefined;
  #hedges = 0;
  #retryDenied = false;
  #span: RequestSpan | undefined;
  #eventStream = false;
  #done = false;

  constructor(req: IncomingMessage, res: ServerResponse, deps: ExchangeDeps) {
    this.req = req;
    this.res = res;
    this.#deps = deps;
    const id = req.headers['x-request-id'];
    this.requestId = typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : randomUUID();
    (res as Tagged)[kExchange] = this;
    (req as Tagged)[kExchange] = this;
    res.on('close', Exchange.#onResponseClose);
  }

  get connectTimeout(): number { return this.#deps.options.connectTimeout; }
  get firstByteTimeout(): number { return this.#deps.options.firstByteTimeout; }
  get idleTimeout(): number { return this.#deps.options.idleTimeout; }

  /** Start: read the body, then route. */
  run(): void {
    const req = this.req;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.#deps.options.bodyLimit) return this.#reject413();
    if (declared === undefined && req.headers['transfer-encoding'] === undefined) return this.#route();
    req.on('data', Exchange.#onBodyChunk);
    req.on('end', Exchange.#onBodyEnd);
  }

  static #onBodyChunk(this: IncomingMessage, chunk: Buffer): void {
    const ex = (this as Tagged)[kExchange] as Exchange;
    ex.#bodyBytes += chunk.length;
    if (ex.#bodyBytes > ex.#deps.options.bodyLimit) {
      this.off('data', Exchange.#onBodyChunk);
      this.off('end', Exchange.#onBodyEnd);
      ex.#chunks = [];
      return ex.#reject413();
    }
    ex.#chunks.push(chunk);
  }

  static #onBodyEnd(this: IncomingMessage): void {
    const ex = (this as Tagged)[kExchange] as Exchange;
    ex.#body = ex.#chunks.length === 1 ? ex.#chunks[0] : Buffer.concat(ex.#chunks, ex.#bodyBytes);
    ex.#chunks = [];
    ex.#route();
  }

  #reject413(): void {
    this.#fail(new GatewayError('RG_ERR_BODY_TOO_LARGE'), true);
  }

  #route(): void {
    if (this.#done) return;
    this.model = this.#body === null ? undefined : requestModel(this.req.headers['content-type'], this.#body);
    this.regions = requestRegions(this.req.headers['x-regiongate-regions']);
    const tracer = this.#deps.tracer;
    if (tracer !== undefined) {
      const url = this.req.url ?? '/';
      const q = url.indexOf('?');
      this.#span = tracer.request(this.method, q === -1 ? url : url.slice(0, q), this.model, this.req.headers);
    }
    this.#deps.retryGate?.deposit();
    this.#deadline = setTimeout(Exchange.#onDeadline, this.#deps.options.requestTimeout, this);
    const endpoint = this.#deps.picker.pick(this);
    if (endpoint === undefined) return this.#fail(new GatewayError('RG_ERR_NO_ENDPOINT'));
    this.#launch(endpoint);
  }

  #launch(endpoint: Endpoint): void {
    if (this.#done) return;
    this.tried.push(endpoint);
    const attempt = new Attempt(this, endpoint);
    this.#live.push(attempt);
    this.#last = attempt;
    this.#deps.observer?.attemptStarted(endpoint);
    if (attemptStartChannel.hasSubscribers) {
      const msg: AttemptStartMessage = { endpoint, attempt: this.tried.length, requestId: this.requestId, hedge: this.#live.length > 1 };
      attemptStartChannel.publish(msg);
    }
    const req = this.req;
    const headers = upstreamHeaders(
      req.rawHeaders,
      { clientIp: req.socket.remoteAddress ?? '', proto: 'http', requestId: this.requestId, trust: this.#deps.options.trust },
      endpoint.headers,
      this.#body === null ? 0 : this.#body.length,
    );
    if (this.#span !== undefined) attempt.span = this.#span.attempt(endpoint, this.tried.length, this.#live.length > 1, headers);
    this.#deps.pools.get(endpoint).dispatch(
      { origin: endpoint.origin, path: endpoint.basePath + (req.url ?? '/'), method: req.method ?? 'GET', headers, body: this.#body, blocking: true },
      attempt,
    );
    const opts = this.#deps.options;
    if (opts.hedgeAfter > 0 && this.#hedges < opts.maxHedges && this.#hedgeTimer === undefined)
      this.#hedgeTimer = setTimeout(Exchange.#onHedge, opts.hedgeAfter, this);
  }

  /** No answer yet from the live attempt: race a second one in another region; the first answer wins. */
  static #onHedge(ex: Exchange): void {
    ex.#hedgeTimer = undefined;
    if (ex.#done || ex.#winner !== undefined || ex.tried.length >= ex.#deps.options.attempts) return;
    const next = ex.#deps.picker.pick(ex);
    if (next === undefined || (ex.#deps.retryGate && !ex.#deps.retryGate.tryWithdraw(false))) return;
    ex.#hedges++;
    ex.#launch(next);
  }

  onResponse(attempt: Attempt, status: number, headers: Record<string, string | string[] | undefined>): boolean {
    if (this.#winner !== undefined || this.#done) return false;
    if (isRetryable({ kind: 'status', status }, this, this.#deps.options.retryPolicy)) {
      if (this.#live.length > 1) {
        // Another attempt (a hedge) is still running: let it answer instead.
        this.#drop(attempt);
        return false;
      }
      const next = this.#nextEndpoint(false);
      if (next !== undefined) {
        this.#drop(attempt);
        queueMicrotask(() => this.#launch(next));
        return false;
      }
    }
    this.#commit(attempt);
    const type = headers['content-type'];
    this.#eventStream = typeof type === 'string' && type.startsWith('text/event-stream');
    this.res.writeHead(status, responseHead(headers, attempt.endpoint, this.tried.length, this.requestId));
    // A stream's headers go out now, so the client sees the answer start; a sized body carries them itself.
    if (headers['content-length'] === undefined) this.res.flushHeaders();
    return true;
  }

  /** `attempt` answers the client: stop the clock on retries and hedges, cancel the losers. */
  #commit(attempt: Attempt): void {
    this.#winner = attempt;
    if (this.#hedgeTimer !== undefined) {
      clearTimeout(this.#hedgeTimer);
      this.#hedgeTimer = undefined;
    }
    for (const other of this.#live) if (other !== attempt) other.cancel(HEDGE_LOST, true);
    this.#live.length = 0;
  }

  #drop(attempt: Attempt): void {
    const i = this.#live.indexOf(attempt);
    if (i !== -1) this.#live.splice(i, 1);
  }

  onData(_attempt: Attempt, chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // The client reads slower than the endpoint writes: pause the upstream until it drains.
    this.res.once('drain', Exchange.#onDrain);
    return false;
  }

  onEnd(): void {
    this.res.end();
    this.#finish();
  }

  onFailure(attempt: Attempt, failure: MappedFailure): void {
    this.#drop(attempt);
    if (this.#done || this.#winner !== undefined) return;
    if (this.#live.length > 0) return; // a hedge is still running and may yet answer
    if (isRetryable({ kind: 'local_origin', failure: failure.failure }, this, this.#deps.options.retryPolicy)) {
      const next = this.#nextEndpoint(failure.error.beforeUpstream);
      if (next !== undefined) return this.#launch(next);
    }
    this.#fail(this.#retryDenied ? new GatewayError('RG_ERR_RETRY_BUDGET', { cause: failure.error }) : failure.error);
  }

  /** For the retry policy: the request method, and whether a response byte reached the client. */
  get method(): string {
    return this.req.method ?? 'GET';
  }

  get responseStarted(): boolean {
    return this.#winner !== undefined;
  }

  onBroken(_attempt: Attempt, failure: MappedFailure): void {
    this.#finish();
    endBrokenStream(this.res, this.#eventStream, failure.error);
  }

  report(outcome: AttemptOutcome, attempt: Attempt): void {
    this.#deps.observer?.attemptEnded(outcome);
    if (attempt.span !== undefined) this.#span?.attemptEnded(attempt.span, outcome);
  }

  /** The endpoint for a retry, or undefined when attempts, deadline, budget or candidates are exhausted. */
  #nextEndpoint(free: boolean): Endpoint | undefined {
    if (this.tried.length >= this.#deps.options.attempts || this.#deadline === undefined || this.#done || this.#winner) return undefined;
    const next = this.#deps.picker.pick(this);
    if (next === undefined) return undefined;
    if (this.#deps.retryGate && !this.#deps.retryGate.tryWithdraw(free)) {
      this.#retryDenied = true;
      return undefined;
    }
    return next;
  }

  static #onDrain(this: ServerResponse): void {
    const ex = (this as Tagged)[kExchange];
    if (ex !== undefined) ex.#winner?.resume();
  }

  static #onDeadline(ex: Exchange): void {
    ex.#deadline = undefined;
    if (ex.#done) return;
    const err = new GatewayError('RG_ERR_REQUEST_TIMEOUT');
    ex.#cancelLive(err);
    if (ex.#winner !== undefined) {
      // Past the deadline mid-answer: cut it, never a clean end that looks complete.
      ex.#winner.cancel(err);
      ex.res.destroy(err);
      return ex.#finish();
    }
    ex.#fail(err);
  }

  static #onResponseClose(this: ServerResponse): void {
    const ex = (this as Tagged)[kExchange] as Exchange;
    if (ex.#done || this.writableFinished) return;
    // The client went away: abort the upstream request so the endpoint stops generating tokens.
    ex.#cancelLive(CLIENT_GONE);
    ex.#winner?.cancel(CLIENT_GONE);
    ex.#finish();
  }

  #fail(err: GatewayError, close = false): void {
    if (this.#done) return;
    const last = this.#last?.endpoint;
    sendError(this.res, err, { requestId: this.requestId, region: last?.region, endpoint: last?.id, attempts: this.tried.length, close });
    this.#finish();
  }

  #cancelLive(reason: GatewayError): void {
    for (const a of this.#live) a.cancel(reason);
    this.#live.length = 0;
  }

  #clearTimers(): void {
    if (this.#deadline !== undefined) {
      clearTimeout(this.#deadline);
      this.#deadline = undefined;
    }
    if (this.#hedgeTimer !== undefined) {
      clearTimeout(this.#hedgeTimer);
      this.#hedgeTimer = undefined;
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearTimers();
    if (this.#span !== undefined) {
      const code = this.res.getHeader('x-regiongate-error');
      this.#span.end(this.res.statusCode, this.tried.length, typeof code === 'string' ? code : undefined);
    }
    this.#deps.onDone(this);
  }
}
