/**
 * One endpoint's health as layers, and the pure rules that turn the layers into a state. Each reason
 * to keep traffic away is its own layer with its own expiry, so overlapping reasons never lose each
 * other (a drained endpoint whose ejection ends while drained comes back in probation, not healthy):
 *
 *   drained       operator intent: a drain (operator / config / peer; until undrained or a peer's
 *                 expiry) or a fire drill (until it ends). Never routed, not even in panic
 *   ejected       outlier or operator or peer ejection (timed), open breaker, or probes failing
 *   rate_limited  a 429's Retry-After (timed)
 *   probation     starts when the ejected layer clears; ramps for `probation.window`
 *   healthy       none of the above
 *
 * The strongest layer names the state. Probes passing never cut a timed ejection short: once the
 * ejection time has passed, failing probes keep the endpoint ejected, and passing probes (after
 * `healthyThreshold` successes) release it into probation. Times in a record are `Clock.monotonic()`
 * ms, so a step of the wall clock (NTP) neither lengthens nor shortens a local expiry; the state machine
 * converts to and from epoch ms where times cross processes (remote reports, transitions, snapshots).
 */
import type { TimerHandle } from '../util/clock.js';
import type { Endpoint } from '../registry/endpoint.js';
import type { HealthState, HealthTransition, TransitionCause } from './health-transition.js';

/**
 * A state another gateway reported for an endpoint, with its expiry (epoch ms, `Clock.now()` base, as
 * it travels between processes). `drained` is operator intent: a drain or a fire drill.
 */
export type RemoteHealthReport =
  | { readonly endpointId: string; readonly state: 'ejected' | 'rate_limited' | 'drained'; readonly until: number }
  /** Lifts what earlier remote reports imposed (never a local ejection, drain or rate limit). */
  | { readonly endpointId: string; readonly state: 'healthy' };

export interface EndpointHealth {
  readonly endpoint: Endpoint;
  /** Bound once: the tracker's handler for this record's timer. */
  readonly onTimer: () => void;
  state: HealthState;
  /** Why it is in `state` (for snapshots); undefined for the initial healthy state. */
  reason: TransitionCause | undefined;
  since: number;
  healthySince: number;
  /** 0 = not drained, Infinity = until undrained. */
  drainedUntil: number;
  drainCause: TransitionCause;
  /** 0 = no timed ejection. */
  ejectedUntil: number;
  ejectCause: TransitionCause;
  /** Ejections counted for backoff. */
  ejections: number;
  breakerOpen: boolean;
  breakerOpenedAt: number;
  probeDown: boolean;
  /** 0 = not rate-limited. */
  rateLimitedUntil: number;
  rateLimitCause: TransitionCause;
  /** 429s in a row on the gateway's own credentials (any other answer resets it). */
  consecutive429: number;
  /** Start of probation, -1 when not in probation. */
  probationSince: number;
  /** Whether the ejected layer was active at the last evaluation. */
  blocked: boolean;
  timer: TimerHandle | undefined;
  timerDue: number;
}

/** A fresh record: healthy, no layer set. */
export function createEndpointHealth(endpoint: Endpoint, now: number, onTimer: () => void): EndpointHealth {
  return {
    endpoint,
    onTimer,
    state: 'healthy',
    reason: undefined,
    since: now,
    healthySince: now,
    drainedUntil: 0,
    drainCause: 'drained',
    ejectedUntil: 0,
    ejectCause: 'operator',
    ejections: 0,
    breakerOpen: false,
    breakerOpenedAt: 0,
    probeDown: false,
    rateLimitedUntil: 0,
    rateLimitCause: 'rate_limited',
    consecutive429: 0,
    probationSince: -1,
    blocked: false,
    timer: undefined,
    timerDue: Number.POSITIVE_INFINITY,
  };
}

/** In probation and not overlaid by an ejection. */
export function inProbation(h: EndpointHealth): boolean {
  return h.probationSince >= 0 && !h.blocked;
}

/**
 * Expire the layers that ended by `now`, start probation when the ejected layer just cleared, end
 * probation when its window has passed, and return the resulting state.
 */
export function settleState(h: EndpointHealth, now: number, probationWindow: number): HealthState {
  if (h.drainedUntil !== 0 && h.drainedUntil <= now) h.drainedUntil = 0;
  if (h.ejectedUntil !== 0 && h.ejectedUntil <= now) h.ejectedUntil = 0;
  if (h.rateLimitedUntil !== 0 && h.rateLimitedUntil <= now) h.rateLimitedUntil = 0;
  const blocked = h.ejectedUntil !== 0 || h.breakerOpen || h.probeDown;
  if (h.blocked && !blocked) h.probationSince = now;
  h.blocked = blocked;
  if (h.probationSince >= 0 && now >= h.probationSince + probationWindow) h.probationSince = -1;
  if (h.drainedUntil !== 0) return 'drained';
  if (blocked) return 'ejected';
  if (h.rateLimitedUntil !== 0) return 'rate_limited';
  return h.probationSince >= 0 ? 'probation' : 'healthy';
}

/** The reason behind a blocking state (the layer that imposes it); undefined for other states. */
export function blockingReason(h: EndpointHealth, state: HealthState): TransitionCause | undefined {
  switch (state) {
    case 'drained':
      return h.drainCause;
    case 'ejected':
      return h.ejectedUntil !== 0 ? h.ejectCause : h.breakerOpen ? 'breaker_open' : 'probe_failed';
    case 'rate_limited':
      return h.rateLimitCause;
    default:
      return undefined;
  }
}

/** When the current state is expected to end (epoch ms), if known. */
export function stateUntil(h: EndpointHealth, probationWindow: number, breakerResetTimeout: number): number | undefined {
  switch (h.state) {
    case 'drained':
      return Number.isFinite(h.drainedUntil) ? h.drainedUntil : undefined;
    case 'ejected': {
      const u = Math.max(h.ejectedUntil, h.breakerOpen ? h.breakerOpenedAt + breakerResetTimeout : 0);
      return u > 0 ? u : undefined;
    }
    case 'rate_limited':
      return h.rateLimitedUntil;
    case 'probation':
      return h.probationSince + probationWindow;
    default:
      return undefined;
  }
}

/**
 * Milliseconds until the endpoint is expected to be routable again: 0 when it is (healthy or in
 * probation), the latest end of every blocking layer otherwise; probes failing add `probeRecovery`
 * (interval × healthy threshold) from now; a local drain is +Infinity. O(1), no allocation.
 */
export function recoveryIn(h: EndpointHealth, now: number, breakerResetTimeout: number, probeRecovery: number): number {
  if (h.state === 'healthy' || h.state === 'probation') return 0;
  let u = Math.max(h.drainedUntil, h.ejectedUntil, h.rateLimitedUntil);
  if (h.breakerOpen) u = Math.max(u, h.breakerOpenedAt + breakerResetTimeout);
  if (h.probeDown) u = Math.max(u, now + probeRecovery);
  return Math.max(0, u - now);
}

/** The probation ramp: `minWeight` at its start to 1 at its end; 1 when healthy, 0 when not routable. */
export function weightFactor(h: EndpointHealth, now: number, window: number, minWeight: number): number {
  if (h.state === 'healthy') return 1;
  if (h.state !== 'probation') return 0;
  if (window <= 0) return 1;
  return minWeight + (1 - minWeight) * Math.min(1, Math.max(0, (now - h.probationSince) / window));
}

/** The next time something expires for this endpoint (+Infinity when nothing will). */
export function nextDeadline(h: EndpointHealth, probationWindow: number): number {
  let due = Number.POSITIVE_INFINITY;
  if (h.drainedUntil !== 0 && Number.isFinite(h.drainedUntil)) due = h.drainedUntil;
  if (h.ejectedUntil !== 0) due = Math.min(due, h.ejectedUntil);
  if (h.rateLimitedUntil !== 0) due = Math.min(due, h.rateLimitedUntil);
  if (h.probationSince >= 0) due = Math.min(due, h.probationSince + probationWindow);
  return due;
}

/**
 * Re-evaluate after a layer changed (`cause` says what changed): settle the state, keep the reason,
 * and return the transition when the state changed. `now` is monotonic; the transition's `at` and
 * `until` are epoch ms (`now + wallOffset`), since transitions leave the process.
 */
export function evaluate(
  h: EndpointHealth,
  now: number,
  cause: TransitionCause,
  probationWindow: number,
  breakerResetTimeout: number,
  wallOffset = 0,
): HealthTransition | undefined {
  const from = h.state;
  const to = settleState(h, now, probationWindow);
  h.reason = blockingReason(h, to) ?? (to !== from ? cause : h.reason);
  if (to === from) return undefined;
  h.state = to;
  h.since = now;
  if (to === 'healthy') h.healthySince = now;
  const { id: endpointId, region } = h.endpoint;
  const until = stateUntil(h, probationWindow, breakerResetTimeout);
  const at = now + wallOffset;
  return until === undefined ? { endpointId, region, from, to, cause, at } : { endpointId, region, from, to, cause, at, until: until + wallOffset };
}

/**
 * Apply a remote report other than an ejection (the tracker ejects through its own path), its `until`
 * already converted to monotonic ms. Returns false when the report has already expired.
 */
export function applyRemoteLayer(h: EndpointHealth, report: RemoteHealthReport, now: number): boolean {
  if (report.state === 'healthy') {
    if (h.ejectCause === 'remote') h.ejectedUntil = 0;
    // A drill is applied from the fleet's intent (cause `drill`), so it is lifted the same way.
    if ((h.drainCause === 'remote' || h.drainCause === 'drill') && Number.isFinite(h.drainedUntil)) h.drainedUntil = 0;
    if (h.rateLimitCause === 'remote') h.rateLimitedUntil = 0;
    return true;
  }
  if (report.until <= now) return false;
  if (report.state === 'rate_limited' && report.until > h.rateLimitedUntil) {
    h.rateLimitedUntil = report.until;
    h.rateLimitCause = 'remote';
  } else if (report.state === 'drained' && report.until > h.drainedUntil) {
    h.drainedUntil = report.until;
    h.drainCause = 'remote';
  }
  return true;
}
