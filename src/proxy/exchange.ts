/**
 * One client request and its way through the gateway: buffer the body (so it can be replayed), pick an
 * endpoint, run attempts until one answers, then stream the answer back untouched. Retries happen only
 * before the first response byte is written to the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { attemptStartChannel, type AttemptStartMessage } from '../telemetry/diagnostics.js';
import type { AttemptObserver, AttemptOutcome } from '../health/attempt-outcome.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { PickRequest, Picker } from '../routing/picker.js';
import { isRetryable, type RetryPolicy } from '../routing/retry-policy.js';
import { Attempt, type AttemptOwner } from './attempt.js';
import { sendError } from './error-response.js';
import { downstreamHeaders, upstreamHeaders } from './headers.js';
import { requestModel, requestRegions } from './request-info.js';
import type { MappedFailure } from './to-gateway-error.js';
import type { UpstreamPools } from './upstream-pools.js';

export interface ExchangeOptions {
  readonly connectTimeout: number;
  readonly firstByteTimeout: number;
  readonly idleTimeout: number;
  /** Total deadline from the buffered request to the end of the answer, all attempts included. */
  readonly requestTimeout: number;
  readonly attempts: number;
  readonly retryPolicy: RetryPolicy;
  readonly bodyLimit: number;
  /** Start a hedge attempt in another region when no answer came within this many ms (0 = off). */
  readonly hedgeAfter: number;
  readonly maxHedges: number;
}

/** Gate on retries (the retry budget); a retry after a failure that never reached an upstream is free. */
export interface RetryGate {
  deposit(): void;
  tryWithdraw(free: boolean): boolean;
}

export interface ExchangeDeps {
  readonly pools: UpstreamPools;
  readonly picker: Picker;
  readonly observer: AttemptObserver | undefined;
  readonly retryGate: RetryGate | undefined;
  readonly options: ExchangeOptions;
  /** Called exactly once when the exchange is over (answered, failed or abandoned). */
  readonly onDone: (exchange: Exchange) => void;
}

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
  #eventStream = false;
  #done = false;

  constructor(req: IncomingMessage, res: ServerResponse, deps: ExchangeDeps) {
    this.req = req;
    this.res = res;
    this.#deps = deps;
    const id = req.headers['x-request-id'];
    this.requestId = typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : randomUUID();
    res.on('close', this.#onClientClose);
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
    req.on('data', this.#onBodyChunk);
    req.on('end', this.#onBodyEnd);
  }

  readonly #onBodyChunk = (chunk: Buffer): void => {
    this.#bodyBytes += chunk.length;
    if (this.#bodyBytes > this.#deps.options.bodyLimit) {
      this.req.off('data', this.#onBodyChunk);
      this.req.off('end', this.#onBodyEnd);
      this.#chunks = [];
      return this.#reject413();
    }
    this.#chunks.push(chunk);
  };

  readonly #onBodyEnd = (): void => {
    this.#body = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#bodyBytes);
    this.#chunks = [];
    this.#route();
  };

  #reject413(): void {
    this.#fail(new GatewayError('RG_ERR_BODY_TOO_LARGE'), true);
  }

  #route(): void {
    if (this.#done) return;
    this.model = this.#body === null ? undefined : requestModel(this.req.headers['content-type'], this.#body);
    this.regions = requestRegions(this.req.headers['x-regiongate-regions']);
    this.#deps.retryGate?.deposit();
    this.#deadline = setTimeout(this.#onDeadline, this.#deps.options.requestTimeout);
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
      { clientIp: req.socket.remoteAddress ?? '', proto: 'http', requestId: this.requestId },
      endpoint.headers,
      this.#body === null ? 0 : this.#body.length,
    );
    this.#deps.pools.get(endpoint).dispatch(
      { origin: endpoint.origin, path: endpoint.basePath + (req.url ?? '/'), method: req.method ?? 'GET', headers, body: this.#body, blocking: true },
      attempt,
    );
    const opts = this.#deps.options;
    if (opts.hedgeAfter > 0 && this.#hedges < opts.maxHedges && this.#hedgeTimer === undefined)
      this.#hedgeTimer = setTimeout(this.#onHedge, opts.hedgeAfter);
  }

  /** No answer yet from the live attempt: race a second one in another region; the first answer wins. */
  readonly #onHedge = (): void => {
    this.#hedgeTimer = undefined;
    if (this.#done || this.#winner !== undefined || this.tried.length >= this.#deps.options.attempts) return;
    const next = this.#deps.picker.pick(this);
    if (next === undefined || (this.#deps.retryGate && !this.#deps.retryGate.tryWithdraw(false))) return;
    this.#hedges++;
    this.#launch(next);
  };

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
    const out = downstreamHeaders(headers);
    const ep = attempt.endpoint;
    out.push('x-regiongate-region', ep.region, 'x-regiongate-endpoint', ep.id, 'x-regiongate-attempts', String(this.tried.length), 'x-request-id', this.requestId);
    const type = headers['content-type'];
    this.#eventStream = typeof type === 'string' && type.startsWith('text/event-stream');
    this.res.writeHead(status, out);
    // A stream's headers go out now, so the client sees the answer start; a sized body carries them itself.
    if (headers['content-length'] === undefined) this.res.flushHeaders();
    this.res.on('drain', this.#onDrain);
    return true;
  }

  /** `attempt` answers the client: stop the clock on retries and hedges, cancel the losers. */
  #commit(attempt: Attempt): void {
    this.#winner = attempt;
    if (this.#hedgeTimer !== undefined) {
      clearTimeout(this.#hedgeTimer);
      this.#hedgeTimer = undefined;
    }
    for (const other of this.#live) if (other !== attempt) other.cancel(HEDGE_LOST);
    this.#live.length = 0;
  }

  #drop(attempt: Attempt): void {
    const i = this.#live.indexOf(attempt);
    if (i !== -1) this.#live.splice(i, 1);
  }

  onData(_attempt: Attempt, chunk: Buffer): boolean {
    return this.res.write(chunk);
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
    const res = this.res;
    this.#finish();
    if (!this.#eventStream || res.destroyed) return void res.destroy(failure.error);
    // Tell an SSE client why the stream stopped, then cut it: never a clean end that looks complete.
    const cut = setTimeout(() => res.destroy(failure.error), 1000);
    res.write(`event: error\ndata: ${JSON.stringify(failure.error.toJSON())}\n\n`, () => {
      clearTimeout(cut);
      res.destroy(failure.error);
    });
  }

  report(outcome: AttemptOutcome): void {
    this.#deps.observer?.attemptEnded(outcome);
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

  readonly #onDrain = (): void => {
    this.#winner?.resume();
  };

  readonly #onDeadline = (): void => {
    this.#deadline = undefined;
    if (this.#done) return;
    const err = new GatewayError('RG_ERR_REQUEST_TIMEOUT');
    this.#cancelLive(err);
    if (this.#winner !== undefined) {
      // Past the deadline mid-answer: cut it, never a clean end that looks complete.
      this.#winner.cancel(err);
      this.res.destroy(err);
      return this.#finish();
    }
    this.#fail(err);
  };

  readonly #onClientClose = (): void => {
    if (this.#done || this.res.writableFinished) return;
    // The client went away: abort the upstream request so the endpoint stops generating tokens.
    this.#cancelLive(CLIENT_GONE);
    this.#winner?.cancel(CLIENT_GONE);
    this.#finish();
  };

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
    this.#deps.onDone(this);
  }
}
