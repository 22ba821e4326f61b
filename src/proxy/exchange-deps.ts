/**
 * What an `Exchange` is built with: its timeouts and limits, its attempt plan's settings and
 * collaborators (`routing/attempt-plan.ts`), and the collaborators it reports to.
 */
import type { ModelCatalog } from '../catalog/model-catalog.js';
import type { FaultDraw } from '../fault/fault-injector.js';
import type { AttemptObserver } from '../health/attempt-outcome.js';
import type { AttemptPlanDeps } from '../routing/attempt-plan.js';
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
  readonly bodyLimit: number;
  /** Some `routing.rules` entry names a model: a request whose model is undetermined gets a 400. */
  readonly modelRules: boolean;
  /** Proxies trusted to say who the client is (`listen.trustProxy`); undefined = nobody. */
  readonly trust?: TrustFn;
}

export interface ExchangeDeps {
  readonly pools: UpstreamPools;
  /** Which endpoint next, and whether at all: the clock, picker, retry budget and their settings. */
  readonly plan: AttemptPlanDeps;
  readonly observer: AttemptObserver | undefined;
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
