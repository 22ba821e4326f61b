/**
 * OpenTelemetry traces through `@opentelemetry/api`: a SERVER span per client request and a CLIENT span
 * per upstream attempt (retries and hedges show as siblings), with W3C trace context injected into
 * the upstream request. Spans are recorded by whatever SDK the operator registers (e.g. loaded with
 * `node --import ./otel.js`); without one the API hands out no-op spans. Off unless
 * `telemetry.tracing` is true, so the data path pays nothing by default.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';
import type { AttemptOutcome } from '../health/attempt-outcome.js';
import type { Endpoint } from '../registry/endpoint.js';
import { SPAN } from './names.js';

/** The spans of one client request. */
export class RequestSpan {
  readonly #tracer: Tracer;
  readonly #span: Span;

  constructor(tracer: Tracer, span: Span) {
    this.#tracer = tracer;
    this.#span = span;
  }

  /** Start an attempt's span and inject its context into the upstream headers (a flat name/value list). */
  attempt(endpoint: Endpoint, attempt: number, hedge: boolean, headers: string[]): Span {
    const ctx = trace.setSpan(context.active(), this.#span);
    const span = this.#tracer.startSpan(
      SPAN.attempt,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'regiongate.endpoint': endpoint.id,
          'regiongate.region': endpoint.region,
          'regiongate.provider': endpoint.provider,
          'regiongate.attempt': attempt,
          'regiongate.hedge': hedge,
          'server.address': endpoint.origin,
        },
      },
      ctx,
    );
    propagation.inject(trace.setSpan(ctx, span), headers, {
      // Replace the client's own `traceparent`/`tracestate`: the upstream's parent is this attempt.
      set(carrier: string[], key: string, value: string) {
        for (let i = 0; i < carrier.length; i += 2) if (carrier[i] === key) return void (carrier[i + 1] = value);
        carrier.push(key, value);
      },
    });
    return span;
  }

  /** End an attempt's span with its health outcome. */
  attemptEnded(span: Span, outcome: AttemptOutcome): void {
    span.setAttribute('regiongate.outcome', outcome.kind);
    if (outcome.kind === 'local_origin') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.failure });
    else if (outcome.kind === 'upstream_5xx') span.setStatus({ code: SpanStatusCode.ERROR, message: `status ${outcome.status}` });
    else if (outcome.kind === 'excused') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.code });
    if ('status' in outcome) span.setAttribute('http.response.status_code', outcome.status);
    span.end();
  }

  /** End the request's span. */
  end(status: number, attempts: number, errorCode: string | undefined): void {
    this.#span.setAttribute('http.response.status_code', status);
    this.#span.setAttribute('regiongate.attempts', attempts);
    if (errorCode !== undefined) {
      this.#span.setAttribute('regiongate.error', errorCode);
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
    } else if (status >= 500) this.#span.setStatus({ code: SpanStatusCode.ERROR });
    this.#span.end();
  }
}

export class RequestTracer {
  readonly #tracer: Tracer;

  constructor(version: string) {
    this.#tracer = trace.getTracer('regiongate', version);
  }

  /** Start a client request's span, continuing the client's trace when it sent `traceparent`. */
  request(method: string, path: string, model: string | undefined, headers: IncomingHttpHeaders): RequestSpan {
    const parent = propagation.extract(context.active(), headers);
    const span = this.#tracer.startSpan(
      SPAN.request,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': method, 'url.path': path, ...(model !== undefined && { 'gen_ai.request.model': model }) },
      },
      parent,
    );
    return new RequestSpan(this.#tracer, span);
  }
}
