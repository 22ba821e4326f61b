/**
 * What an `Exchange` is built with: its timeouts and retry settings, and the collaborators it reports to.
 */
import type { AttemptObserver } from '../health/attempt-outcome.js';
import type { Picker } from '../routing/picker.js';
import type { RetryPolicy } from '../routing/retry-policy.js';
import type { RequestTracer } from '../telemetry/request-tracer.js';
import type { TrustFn } from './forwarded.js';
import type { Exchange } from './exchange.js';
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
  /** Proxies trusted to say who the client is (`listen.trustProxy`); undefined = nobody. */
  readonly trust?: TrustFn;
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
  /** OpenTelemetry spans, when `telemetry.tracing` is on. */
  readonly tracer: RequestTracer | undefined;
  /** Called exactly once when the exchange is over (answered, failed or abandoned). */
  readonly onDone: (exchange: Exchange) => void;
}
