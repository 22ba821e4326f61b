/**
 * One request's attempt plan: which endpoint takes the next attempt, and whether there may be one at all
 * (the attempt limit, the request deadline, the retry budget, the replay rules of `retry-policy.ts`),
 * and when to hedge. The plan owns the deadline and hedge timers, on an injected `Clock`, so its rules
 * are tested on simulated time; the `Exchange` owns the body, the attempts themselves, the commit and the
 * streaming, and asks the plan at each turn.
 *
 * Hedging: when the latest attempt has not answered within `hedgeAfter` ms, a second attempt starts on
 * another endpoint and whichever answers first wins (the loser is cancelled). Off by default: a hedge
 * doubles the GPU work of every slow request. A hedge runs the request twice at once, so only a
 * replayable request is hedged, a hedge is withdrawn from the retry budget like a replay, and none starts
 * once an answer is committed.
 */
import type { RetryClass } from '../health/classify-failure.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { PickRequest, Picker } from './picker.js';
import { isReplayable, mayRetry, mayRetryStatus, type ReplayRequest, type RetryPolicy } from './retry-policy.js';

/** The plan's settings, resolved from config (`retry.*`, `timeouts.request`); no defaults here. */
export interface AttemptPlanOptions {
  /** Most attempts per request, hedges included (`retry.attempts`). */
  readonly attempts: number;
  /** Total deadline from the buffered request to the end of the answer, all attempts included. */
  readonly requestTimeout: number;
  /** Start a hedge when no answer came within this many ms of the latest attempt (0 = off). */
  readonly hedgeAfter: number;
  readonly maxHedges: number;
  readonly retryPolicy: RetryPolicy;
}

/**
 * Gate on retries (the retry budget): each request deposits, each retry or hedge that may load an
 * endpoint withdraws. A retry after a failure that never reached an endpoint is free: not withdrawn.
 */
export interface RetryGate {
  deposit(): void;
  tryWithdraw(): boolean;
}

/** What the plan is built with, shared by every request of a gateway. */
export interface AttemptPlanDeps {
  readonly clock: Clock;
  readonly picker: Picker;
  readonly retryGate: RetryGate | undefined;
  readonly options: AttemptPlanOptions;
}

/** The request side of a plan: what the picker reads, and what the plan tells when its timers fire. */
export interface PlanOwner extends PickRequest {
  /** The request deadline passed: cut whatever runs, answered or not. */
  deadlinePassed(): void;
  /** Time to hedge: start an attempt on `endpoint` (already withdrawn from the budget). */
  hedge(endpoint: Endpoint): void;
}

export class AttemptPlan {
  /** May run twice (retries after the endpoint may have seen it, hedges): see retry-policy.ts. */
  readonly replayable: boolean;
  readonly #deps: AttemptPlanDeps;
  readonly #owner: PlanOwner;
  #deadline: TimerHandle | undefined;
  #expired = false;
  #hedgeTimer: TimerHandle | undefined;
  #hedges = 0;
  /** An answer is committed (or the request is over): no further attempt of any kind. */
  #closed = false;
  #budgetDenied = false;

  constructor(deps: AttemptPlanDeps, owner: PlanOwner, request: ReplayRequest) {
    this.#deps = deps;
    this.#owner = owner;
    this.replayable = isReplayable(request, deps.options.retryPolicy);
  }

  /** The request is ready to go: count it for the retry budget, start the deadline, pick the first endpoint. */
  start(): Endpoint | undefined {
    this.#deps.retryGate?.deposit();
    this.#deadline = this.#deps.clock.setTimeoutFor(AttemptPlan.#onDeadline, this.#deps.options.requestTimeout, this);
    return this.#deps.picker.pick(this.#owner);
  }

  /** An attempt was sent: arm the hedge timer when hedging applies and none is armed. */
  launched(): void {
    const o = this.#deps.options;
    if (o.hedgeAfter > 0 && this.replayable && this.#hedges < o.maxHedges && this.#hedgeTimer === undefined && !this.#closed)
      this.#hedgeTimer = this.#deps.clock.setTimeoutFor(AttemptPlan.#onHedge, o.hedgeAfter, this);
  }

  /** Whether an answer with `status` is to be retried elsewhere rather than passed on (before the commit). */
  retriesStatus(status: number): boolean {
    return mayRetryStatus(status, this.replayable, this.#closed, this.#deps.options.retryPolicy);
  }

  /** Whether a failure of retry class `retry` may be retried elsewhere. */
  retriesFailure(retry: RetryClass): boolean {
    return mayRetry(retry, this.replayable, this.#closed);
  }

  /**
   * The endpoint for a retry after a failure of class `retry`, or undefined when the attempts, the
   * deadline, the budget or the candidates are exhausted. A `free` retry takes nothing from the budget.
   */
  next(retry: RetryClass): Endpoint | undefined {
    if (this.#closed || this.#expired || this.#owner.tried.length >= this.#deps.options.attempts) return undefined;
    const next = this.#deps.picker.pick(this.#owner);
    if (next === undefined) return undefined;
    if (retry !== 'free' && this.#deps.retryGate !== undefined && !this.#deps.retryGate.tryWithdraw()) {
      this.#budgetDenied = true;
      return undefined;
    }
    return next;
  }

  /** Whether a retry was refused for want of budget (the client then gets `RG_ERR_RETRY_BUDGET`). */
  get budgetDenied(): boolean {
    return this.#budgetDenied;
  }

  /** An answer is committed to the client: no retry nor hedge may follow. The deadline still runs. */
  commit(): void {
    this.#closed = true;
    this.#clearHedge();
  }

  /** The request is over: stop every timer. */
  close(): void {
    this.#closed = true;
    this.#clearHedge();
    this.#deps.clock.clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  // Static, with the plan as the timer's argument: one plan per request, and no closure per plan.
  static #onDeadline(plan: AttemptPlan): void {
    plan.#deadline = undefined;
    plan.#expired = true;
    plan.#clearHedge();
    plan.#owner.deadlinePassed();
  }

  /** No answer yet from the live attempt: race a second one (the picker prefers another region). */
  static #onHedge(plan: AttemptPlan): void {
    plan.#hedgeTimer = undefined;
    if (plan.#closed || plan.#expired || plan.#owner.tried.length >= plan.#deps.options.attempts) return;
    const next = plan.#deps.picker.pick(plan.#owner);
    if (next === undefined || (plan.#deps.retryGate !== undefined && !plan.#deps.retryGate.tryWithdraw())) return;
    plan.#hedges++;
    plan.#owner.hedge(next);
  }

  #clearHedge(): void {
    this.#deps.clock.clearTimeout(this.#hedgeTimer);
    this.#hedgeTimer = undefined;
  }
}
