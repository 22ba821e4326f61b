/**
 * What an `Exchange` is built with: its timeouts and retry settings, and the collaborators it reports to.
 */
import type { ModelCatalog } from '../catalog/model-catalog.js';
import type { FaultDraw } from '../fault/fault-injector.js';
import type { AttemptObserver } from '../health/attempt-outcome.js';
import type { Picker } from '../routing/picker.js';
import type { RetryPolicy } from '../routing/retry-policy.js';
import type { Logger } from '../telemetry/logger.js';
import type { RequestTracer } from '../telemetry/request-tracer.js';
import type { BodyBudget } from './body-budget.js';
import type { TrustFn } from './forwarded.js';
import type { Exchange } from './exchange.js';
import type { UpstreamPools } from './upstream-pools.js';

export interface ExchangeOptions {
  /** Longest wait for a free connection when an endpoint's `connections` are all busy. */
  readonly queueTimeout: number;
  readonly connectTimeout: number;
  /** The operator's explicit `timeouts.firstByte`, for every request; undefined = by kind, below. */
  readonly firstByteTimeout: number | undefined;
  /** First-byte limit of a streamed request (`"stream": true`): headers come with the first token. */
  readonly firstByteStreamTimeout: number;
  /** First-byte limit of a non-streamed request: headers come only once the whole generation is done. */
  readonly firstByteUnaryTimeout: number;
  readonly idleTimeout: number;
  /** Total deadline from the buffered request to the end of the answer, all attempts included. */
  readonly requestTimeout: number;
  readonly attempts: number;
  readonly retryPolicy: RetryPolicy;
  readonly bodyLimit: number;
  /** Start a hedge attempt in another region when no answer came within this many ms (0 = off). */
  readonly hedgeAfter: number;
  readonly maxHedges: number;
  /** Some `routing.rules` entry names a model: a request whose model is undetermined gets a 400. */
  readonly modelRules: boolean;
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
  /** The gateway-wide bound on buffered request bytes. */
  readonly bodyBudget: BodyBudget;
  readonly logger: Logger;
  readonly options: ExchangeOptions;
  /** OpenTelemetry spans, when `telemetry.tracing` is on. */
  readonly tracer: RequestTracer | undefined;
  /** Answers for requests no endpoint can take (unknown region or model); undefined = always 503. */
  readonly catalog?: Pick<ModelCatalog, 'checkRegions' | 'whyNoEndpoint' | 'renamed'>;
  /** A drill's injected faults (`src/fault/`); undefined = never. */
  readonly faults?: FaultDraw;
  /** Called exactly once when the exchange is over (answered, failed or abandoned). */
  readonly onDone: (exchange: Exchange) => void;
}
