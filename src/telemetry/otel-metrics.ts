/**
 * The request metrics through `@opentelemetry/api`, with the Prometheus names (`names.ts`), for an
 * operator who registers a meter provider (e.g. `node --import ./otel.js` with the OpenTelemetry SDK and
 * an OTLP exporter). Without one, `fromGlobal` returns undefined and the data path pays nothing. The
 * provider must be registered before the gateway is created: instruments are made once, here.
 */
import { createNoopMeter, metrics, type Attributes, type Counter, type Histogram } from '@opentelemetry/api';
import { METRIC } from './names.js';

export interface OtelRequest {
  readonly statusClass: string;
  readonly model: string;
  readonly region: string;
  readonly totalSeconds: number;
  /** undefined: no response head went out. */
  readonly firstByteSeconds: number | undefined;
  readonly retryReasons: readonly string[] | undefined;
}

export class OtelMetrics {
  readonly #requests: Counter;
  readonly #duration: Histogram;
  readonly #firstByte: Histogram;
  readonly #retries: Counter;
  readonly #faults: Counter;

  private constructor(version: string) {
    const meter = metrics.getMeter('regiongate', version);
    this.#requests = meter.createCounter(METRIC.requestsByModel, { description: 'Client requests answered, by status class and model.' });
    this.#duration = meter.createHistogram(METRIC.requestDuration, { description: 'Request duration by region.', unit: 's' });
    this.#firstByte = meter.createHistogram(METRIC.timeToFirstByte, { description: 'Time to the response head by region.', unit: 's' });
    this.#retries = meter.createCounter(METRIC.retries, { description: 'Retries and hedges, by reason.' });
    this.#faults = meter.createCounter(METRIC.faultsInjected, { description: 'Faults a drill injected into attempts, by region and kind.' });
  }

  /** Instruments on the registered meter provider, or undefined when none is registered. */
  static fromGlobal(version: string): OtelMetrics | undefined {
    if (metrics.getMeter('regiongate', version) === createNoopMeter()) return undefined;
    return new OtelMetrics(version);
  }

  requestEnded(r: OtelRequest): void {
    const region: Attributes = { region: r.region };
    this.#requests.add(1, { class: r.statusClass, model: r.model });
    this.#duration.record(r.totalSeconds, region);
    if (r.firstByteSeconds !== undefined) this.#firstByte.record(r.firstByteSeconds, region);
    if (r.retryReasons !== undefined) for (const reason of r.retryReasons) this.#retries.add(1, { reason });
  }

  /** A drill's fault was injected into an attempt toward `region`. */
  faultInjected(region: string, fault: string): void {
    this.#faults.add(1, { region, fault });
  }
}
