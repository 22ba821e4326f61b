/**
 * One client request and its way through the gateway: buffer the body (so it can be replayed), run
 * attempts until one answers, then commit it and stream the answer back untouched (but for a model the
 * endpoint knows by another id: model-alias.ts, model-rename.ts). Which endpoint takes each attempt, and
 * whether another may follow (attempt limit, deadline, retry budget, replay rules, hedging), is the
 * request's `AttemptPlan` (routing/attempt-plan.ts); retries happen only before the commit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { modelInPath } from '../catalog/model-catalog.js';
import { GatewayError } from '../errors.js';
import { attemptStartChannel, type AttemptStartMessage } from '../telemetry/diagnostics.js';
import type { RequestSpan } from '../telemetry/request-tracer.js';
import type { AttemptOutcome } from '../health/attempt-outcome.js';
import type { Endpoint } from '../registry/endpoint.js';
import { AttemptPlan, type PlanOwner } from '../routing/attempt-plan.js';
import { noEndpointError } from '../routing/no-endpoint-error.js';
import { LOG_EVENT } from '../telemetry/names.js';
import { Attempt, type AttemptOwner } from './attempt.js';
import type { FailureVerdict } from '../health/classify-failure.js';
import { endBrokenStream, sendError } from './error-response.js';
import type { ExchangeDeps } from './exchange-deps.js';
import { withSignature } from '../credentials/aws-signer.js';
import { responseHead, upstreamHeaders } from './headers.js';
import { clientProto } from './forwarded.js';
import { h2BodyFollows } from './h2-listener.js';
import { BodyModelReader } from './body-model-reader.js';
import { requestFor, renameUnsupported } from './model-alias.js';
import { answerRenamer, type AnswerRenamer } from './model-rename.js';
import { requestRegions } from './request-info.js';

export type { ExchangeDeps, ExchangeOptions } from './exchange-deps.js';

/** Node streams carry their exchange here, so listeners are shared functions, not per-request closures. */
const kExchange = Symbol('regiongate.exchange');
type Tagged = { [kExchange]?: Exchange };

const HEDGE_LOST = new GatewayError('RG_ERR_UPSTREAM', { message: 'another attempt answered first' });
/** For endpoints that rename nothing (`requestFor` never reads it then): no map per exchange. */
const NOTHING_RENAMED: Map<string, Buffer | null> = new Map();
const CLIENT_GONE = new GatewayError('RG_ERR_UPSTREAM', { message: 'client disconnected' });

export class Exchange implements AttemptOwner, PlanOwner {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly tried: Endpoint[] = [];
  model: string | undefined = undefined;
  regions: ReadonlySet<string> | undefined = undefined;
  /** For the access log and latency metrics: `performance.now()` at arrival and at the response head (-1: none). */
  readonly startedAt = performance.now();
  firstByteAt = -1;
  /** Response body bytes written to the client. */
  bytesOut = 0;
  /** Why each earlier attempt was not used (a failure's evidence or code, `http_NNN`, `hedge`); undefined = none. */
  retryReasons: string[] | undefined = undefined;
  /** Faults a drill injected into this request's attempts (`error`, `hang`, `slow`); undefined = none. */
  faults: string[] | undefined = undefined;
  /**
   * The `RG_ERR_*` code of a gateway-made answer, or of a cut answer (kept here: `sendError` passes its
   * headers to `writeHead`, which `getHeader` never sees).
   */
  errorCode: string | undefined = undefined;
  /** The client closed its connection before the answer ended (the upstream request was aborted). */
  clientGone = false;
  readonly #deps: ExchangeDeps;
  #chunks: Buffer[] = [];
  /** A declared body is copied into one buffer of its length (no second copy to join chunks). */
  #declared = -1;
  #whole: Buffer | undefined;
  #bodyBytes = 0;
  #body: Buffer | null = null;
  /** Reads the model as the body arrives, so no single step parses a whole large body. */
  #modelReader: BodyModelReader | undefined;
  /** Where the body's model string lies (plain JSON), and whether the model came from the path instead. */
  #modelSpan: readonly [number, number] | undefined;
  #modelInPath = false;
  /** Renames the model back in the answer of an endpoint that knows it by another id. */
  #renamer: AnswerRenamer | undefined;
  /** The body as each endpoint id names the model, made once (retries and hedges reuse it). */
  #renamedBodies: Map<string, Buffer | null> | undefined;
  /** Bytes of `limits.bufferedBytes` this exchange holds. */
  #reserved = 0;
  /** Set once the request is routed (the body is read and the model known). */
  #plan: AttemptPlan | undefined;
  #firstByteTimeout = 0;
  /** Attempts still running: one, or more while hedging. */
  #live: Attempt[] = [];
  #winner: Attempt | undefined;
  #last: Attempt | undefined;
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

  get queueTimeout(): number { return this.#deps.options.queueTimeout; }
  get connectTimeout(): number { return this.#deps.options.connectTimeout; }
  get firstByteTimeout(): number { return this.#firstByteTimeout; }
  get idleTimeout(): number { return this.#deps.options.idleTimeout; }

  /**
   * Start: read the body, then route. With `Expect: 100-continue` (Node's `checkContinue`), the client is
   * told to send its body only once its declared size fits the limits: the expectation is answered here
   * and never forwarded.
   */
  run(expectContinue = false): void {
    const req = this.req;
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      const bytes = Number(declared);
      if (bytes > this.#deps.options.bodyLimit) return this.#reject413();
      if (!this.#reserve(bytes)) return this.#rejectBufferFull();
      if (bytes === 0) return this.#route();
      this.#declared = bytes;
    } else if (req.headers['transfer-encoding'] === undefined && !h2BodyFollows(req)) return this.#route();
    this.#modelReader = new BodyModelReader(req.headers);
    if (expectContinue) this.res.writeContinue();
    req.on('data', Exchange.#onBodyChunk);
    req.on('end', Exchange.#onBodyEnd);
  }

  static #onBodyChunk(this: IncomingMessage, chunk: Buffer): void {
    const ex = (this as Tagged)[kExchange] as Exchange;
    ex.#bodyBytes += chunk.length;
    if (ex.#bodyBytes > ex.#deps.options.bodyLimit) return ex.#stopReading(true);
    // A chunked body reserves as it comes; a declared one reserved its length up front.
    if (ex.#bodyBytes > ex.#reserved && !ex.#reserve(ex.#bodyBytes - ex.#reserved)) return ex.#stopReading(false);
    if (ex.#declared > 0 && ex.#bodyBytes <= ex.#declared) {
      ex.#whole ??= Buffer.allocUnsafe(ex.#declared);
      chunk.copy(ex.#whole, ex.#bodyBytes - chunk.length);
    } else ex.#chunks.push(chunk);
    ex.#modelReader?.write(chunk);
  }

  #stopReading(tooLarge: boolean): void {
    this.req.off('data', Exchange.#onBodyChunk);
    this.req.off('end', Exchange.#onBodyEnd);
    this.#chunks = [];
    this.#whole = undefined;
    this.#modelReader = undefined;
    if (tooLarge) this.#reject413();
    else this.#rejectBufferFull();
  }

  #reserve(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (!this.#deps.bodyBudget.tryReserve(bytes)) return false;
    this.#reserved += bytes;
    return true;
  }

  /** The body is no longer needed for a replay: give its bytes back to the budget. */
  #releaseBody(): void {
    this.#body = null;
    this.#renamedBodies = undefined;
    if (this.#reserved > 0) {
      this.#deps.bodyBudget.release(this.#reserved);
      this.#reserved = 0;
    }
  }

  #rejectBufferFull(): void {
    this.#fail(new GatewayError('RG_ERR_BUFFER_FULL'), true);
  }

  static #onBodyEnd(this: IncomingMessage): void {
    const ex = (this as Tagged)[kExchange] as Exchange;
    if (ex.#whole !== undefined) ex.#body = ex.#whole.subarray(0, ex.#bodyBytes);
    else ex.#body = ex.#chunks.length === 1 ? ex.#chunks[0] : Buffer.concat(ex.#chunks, ex.#bodyBytes);
    ex.#whole = undefined;
    // A body shorter than declared cannot reach here (Node's parser waits for it); keep the reservation exact.
    if (ex.#reserved > ex.#bodyBytes) {
      ex.#deps.bodyBudget.release(ex.#reserved - ex.#bodyBytes);
      ex.#reserved = ex.#bodyBytes;
    }
    ex.#chunks = [];
    ex.#route();
  }

  #reject413(): void {
    this.#fail(new GatewayError('RG_ERR_BODY_TOO_LARGE'), true);
  }

  #route(): void {
    if (this.#done) return;
    const req = this.req;
    const reading = this.#modelReader?.finish();
    // Streamed answers send headers with the first token: they get the shorter default first-byte limit.
    const streamed = this.#modelReader?.stream ?? false;
    this.#modelReader = undefined;
    this.model = reading?.kind === 'model' ? reading.model : undefined;
    this.#modelSpan = reading?.kind === 'model' ? reading.span : undefined;
    // Rules that name models decide where data may go: a model the gateway cannot be sure of is refused.
    if (reading?.kind === 'undetermined' && this.#deps.options.modelRules)
      return this.#fail(new GatewayError('RG_ERR_MODEL_UNDETERMINED', { message: `The request's model cannot be determined: ${reading.reason}.` }));
    this.regions = requestRegions(req.headers['x-regiongate-regions']);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const opts = this.#deps.options;
    this.#firstByteTimeout =
      opts.firstByteTimeout ?? (streamed ? opts.firstByteStreamTimeout : opts.firstByteUnaryTimeout);
    // `GET /v1/models/{id}` is routed like a request for that model (the gateway checked the id).
    const pathModel = modelInPath(req.method, path);
    if (typeof pathModel === 'string') {
      this.model = pathModel;
      this.#modelInPath = true;
    }
    const refused = this.#deps.catalog?.checkRegions(this.regions);
    if (refused !== undefined) return this.#fail(refused);
    // A model some endpoint names otherwise is renamed in a JSON body only: refuse a form up front, the same
    // whichever endpoint is picked, rather than forward a name the endpoint does not know.
    if (this.model !== undefined && !this.#modelInPath && this.#modelSpan === undefined && this.#deps.catalog?.renamed(this.model))
      return this.#fail(renameUnsupported(this.model));
    const tracer = this.#deps.tracer;
    if (tracer !== undefined) this.#span = tracer.request(this.method, path, this.model, req.headers);
    const key = req.headers['idempotency-key'];
    this.#plan = new AttemptPlan(this.#deps.plan, this, { method: this.method, path, idempotencyKey: typeof key === 'string' && key.length > 0 });
    const endpoint = this.#plan.start();
    if (endpoint === undefined) {
      const drained = (): GatewayError => noEndpointError(this.#deps.plan.picker, this);
      return this.#fail(this.#deps.catalog?.whyNoEndpoint(this, drained) ?? drained());
    }
    this.#launch(endpoint);
  }

  #launch(endpoint: Endpoint): void {
    if (this.#done) return;
    const req = this.req;
    // The body and path as this endpoint names the model; the buffered original stays for other endpoints.
    const made = endpoint.upstreamIds === undefined ? NOTHING_RENAMED : (this.#renamedBodies ??= new Map());
    const renamed = requestFor(endpoint, this.model, this.#modelSpan, this.#modelInPath, this.#body, req.url ?? '/', made);
    if (renamed === undefined) {
      if (this.#live.length === 0) this.#fail(renameUnsupported(this.model as string));
      return;
    }
    this.tried.push(endpoint);
    const attempt = new Attempt(this, endpoint);
    attempt.upstreamModel = renamed.upstreamId;
    this.#live.push(attempt);
    this.#last = attempt;
    this.#deps.observer?.attemptStarted(endpoint);
    if (attemptStartChannel.hasSubscribers) {
      const msg: AttemptStartMessage = { endpoint, attempt: this.tried.length, requestId: this.requestId, hedge: this.#live.length > 1 };
      attemptStartChannel.publish(msg);
    }
    // A refreshed credential is read as it is now (never fetched here); none held: refused before sending.
    const cred = endpoint.credential;
    if (cred !== undefined && cred.value === undefined) return attempt.refuse(new GatewayError('RG_ERR_CREDENTIALS_EXPIRED'));
    // A drill's fault, drawn before anything is sent: a launch never follows a byte to the client.
    const fault = this.#deps.faults?.draw(endpoint);
    if (fault !== undefined) {
      (this.faults ??= []).push(fault.spec.kind);
      const message = `fault injected by drill ${JSON.stringify(fault.reason)} (${fault.spec.kind} ${fault.spec.percent} %)`;
      if (fault.spec.kind === 'error') return attempt.refuse(new GatewayError('RG_ERR_FAULT_INJECTED', { message }));
      if (fault.spec.kind === 'hang') {
        attempt.hang(new GatewayError('RG_ERR_FAULT_HANG', { message }));
        return this.#plan?.launched(); // a hung attempt is hedged like a real one
      }
    }
    const body = renamed.body;
    const headers = upstreamHeaders(
      req.rawHeaders,
      { clientIp: req.socket.remoteAddress ?? '', proto: clientProto(req.socket), requestId: this.requestId, trust: this.#deps.options.trust },
      cred === undefined || cred.signer !== undefined ? endpoint.headers : [...endpoint.headers, [cred.header, cred.value as string]],
      body === null ? 0 : body.length,
    );
    if (this.#span !== undefined) attempt.span = this.#span.attempt(endpoint, this.tried.length, this.#live.length > 1, headers);
    const path = endpoint.basePath + renamed.url;
    const method = req.method ?? 'GET';
    const slowMs = fault?.spec.kind === 'slow' ? fault.spec.delayMs : 0;
    if (cred?.signer !== undefined) {
      const signer = cred.signer;
      // SigV4: signed per attempt over exactly the body it sends (CPU only: the keys are already held).
      const sign = (): void =>
        void signer.sign({ method, origin: endpoint.origin, path, body }).then(
          (signed) => {
            if (!attempt.live || this.#done) return;
            attempt.request = { origin: endpoint.origin, path, method, headers: withSignature(headers, signed), body, blocking: true };
            this.#deps.pools.send(attempt);
          },
          () => attempt.refuse(new GatewayError('RG_ERR_CREDENTIALS_EXPIRED')),
        );
      if (slowMs > 0) attempt.delay(slowMs, sign);
      else sign();
    } else {
      attempt.request = { origin: endpoint.origin, path, method, headers, body, blocking: true };
      // A drill's slow fault: sent late (the closure only then; the common path allocates nothing more).
      if (slowMs > 0) attempt.delay(slowMs, () => this.#deps.pools.send(attempt));
      else this.#deps.pools.send(attempt);
    }
    this.#plan?.launched();
  }

  /** The plan's hedge timer fired: race a second attempt; the first answer wins. */
  hedge(endpoint: Endpoint): void {
    if (this.#done || this.#winner !== undefined) return;
    this.#retried('hedge');
    this.#launch(endpoint);
  }

  onResponse(attempt: Attempt, status: number, headers: Record<string, string | string[] | undefined>): boolean {
    if (this.#winner !== undefined || this.#done) return false;
    const plan = this.#plan as AttemptPlan;
    if (plan.retriesStatus(status)) {
      if (this.#live.length > 1) {
        // Another attempt (a hedge) is still running: let it answer instead.
        this.#drop(attempt);
        return false;
      }
      const next = plan.next('replay');
      if (next !== undefined) {
        this.#retried(`http_${status}`);
        this.#drop(attempt);
        queueMicrotask(() => this.#launch(next));
        return false;
      }
    }
    this.#commit(attempt);
    this.firstByteAt = performance.now();
    const type = headers['content-type'];
    this.#eventStream = typeof type === 'string' && type.startsWith('text/event-stream');
    // The endpoint named the model its own way: its answer names it back as the client asked (sized anew).
    const from = attempt.upstreamModel;
    if (from !== undefined && this.model !== undefined && this.method !== 'HEAD' && status !== 204 && status !== 304) {
      this.#renamer = answerRenamer(headers, from, this.model, this.#modelInPath ? 'id' : 'model');
      if (this.#renamer !== undefined) headers = { ...headers, 'content-length': undefined };
    }
    this.res.writeHead(status, responseHead(headers, attempt.endpoint, this.tried.length, this.requestId));
    // A stream's headers go out now, so the client sees the answer start; a sized body carries them itself.
    if (headers['content-length'] === undefined) this.res.flushHeaders();
    return true;
  }

  /** `attempt` answers the client: stop the clock on retries and hedges, cancel the losers. */
  #commit(attempt: Attempt): void {
    this.#winner = attempt;
    this.#plan?.commit();
    for (const other of this.#live) if (other !== attempt) other.loseRace(HEDGE_LOST);
    this.#live.length = 0;
    this.#releaseBody(); // no retry can follow a commit
  }

  #drop(attempt: Attempt): void {
    const i = this.#live.indexOf(attempt);
    if (i !== -1) this.#live.splice(i, 1);
  }

  onData(_attempt: Attempt, chunk: Buffer): boolean {
    const out = this.#renamer === undefined ? chunk : this.#renamer.push(chunk);
    this.bytesOut += out.length;
    if (out.length === 0 || this.res.write(out)) return true;
    // The client reads slower than the endpoint writes: pause the upstream until it drains.
    this.res.once('drain', Exchange.#onDrain);
    return false;
  }

  onEnd(): void {
    const rest = this.#renamer?.flush();
    if (rest !== undefined && rest.length > 0) {
      this.bytesOut += rest.length;
      this.res.write(rest);
    }
    this.res.end();
    this.#finish();
  }

  onFailure(attempt: Attempt, verdict: FailureVerdict, elapsedMs: number): void {
    this.#drop(attempt);
    if (verdict.unrecognised) {
      const cause = verdict.error.cause as { code?: unknown; message?: unknown } | undefined;
      this.#deps.logger.warn(LOG_EVENT.unclassifiedFailure, {
        requestId: this.requestId,
        endpoint: attempt.endpoint.id,
        code: typeof cause?.code === 'string' ? cause.code : undefined,
        message: typeof cause?.message === 'string' ? cause.message : String(cause),
      });
    }
    if (this.#done || this.#winner !== undefined) return;
    if (this.#live.length > 0) return; // a hedge is still running and may yet answer
    const plan = this.#plan as AttemptPlan;
    if (plan.retriesFailure(verdict.retry) && !this.#stillGenerating(attempt, verdict, elapsedMs)) {
      const next = plan.next(verdict.retry);
      if (next !== undefined) {
        this.#retried(verdict.evidence ?? verdict.error.code);
        return this.#launch(next);
      }
    }
    this.#fail(plan.budgetDenied ? new GatewayError('RG_ERR_RETRY_BUDGET', { cause: verdict.error }) : verdict.error);
  }

  /**
   * A first-byte timeout on an endpoint that answered other requests meanwhile is a slow generation, not
   * a hang: it may still be running there, so it is not silently started again elsewhere.
   */
  #stillGenerating(attempt: Attempt, verdict: FailureVerdict, elapsedMs: number): boolean {
    if (verdict.evidence !== 'first_byte_timeout') return false;
    return this.#deps.observer?.answeredWithin?.(attempt.endpoint, elapsedMs) ?? false;
  }

  answered(attempt: Attempt): void {
    this.#deps.observer?.attemptAnswered?.(attempt.endpoint);
  }

  #retried(reason: string): void {
    (this.retryReasons ??= []).push(reason);
  }

  /** Request body bytes read from the client. */
  get bytesIn(): number {
    return this.#bodyBytes;
  }

  /** The endpoint that answered, else the last one tried. */
  get endpoint(): Endpoint | undefined {
    return this.#winner?.endpoint ?? this.#last?.endpoint;
  }

  /** The request method, as the replay rules read it. */
  get method(): string {
    return this.req.method ?? 'GET';
  }

  onBroken(_attempt: Attempt, error: GatewayError): void {
    this.errorCode = error.code;
    this.#finish();
    endBrokenStream(this.res, this.#eventStream, error);
  }

  report(outcome: AttemptOutcome, attempt: Attempt): void {
    this.#deps.observer?.attemptEnded(outcome);
    if (attempt.span !== undefined) this.#span?.attemptEnded(attempt.span, outcome);
  }

  static #onDrain(this: ServerResponse): void {
    const ex = (this as Tagged)[kExchange];
    if (ex !== undefined) ex.#winner?.resume();
  }

  /** The plan's request deadline passed. */
  deadlinePassed(): void {
    if (this.#done) return;
    const err = new GatewayError('RG_ERR_REQUEST_TIMEOUT');
    this.#cancelLive(err);
    if (this.#winner !== undefined) {
      // Past the deadline mid-answer: cut it, never a clean end that looks complete.
      this.#winner.cancel(err);
      this.errorCode = err.code;
      this.res.destroy(err);
      return this.#finish();
    }
    this.#fail(err);
  }

  static #onResponseClose(this: ServerResponse): void {
    const ex = (this as Tagged)[kExchange] as Exchange;
    // `writableEnded` too: HTTP/2's compat response reports `writableFinished` on a stream the client reset.
    if (ex.#done || (this.writableFinished && this.writableEnded)) return;
    // The client went away: abort the upstream request so the endpoint stops generating tokens.
    ex.clientGone = true;
    ex.#cancelLive(CLIENT_GONE);
    ex.#winner?.cancel(CLIENT_GONE);
    ex.#finish();
  }

  #fail(err: GatewayError, close = false): void {
    if (this.#done) return;
    const last = this.#last?.endpoint;
    this.firstByteAt = performance.now();
    this.errorCode = err.code;
    sendError(this.res, err, { requestId: this.requestId, region: last?.region, endpoint: last?.id, attempts: this.tried.length, close });
    this.#finish();
  }

  #cancelLive(reason: GatewayError): void {
    for (const a of this.#live) a.cancel(reason);
    this.#live.length = 0;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#plan?.close();
    this.#releaseBody();
    if (this.#span !== undefined) this.#span.end(this.res.statusCode, this.tried.length, this.errorCode);
    this.#deps.onDone(this);
  }
}

