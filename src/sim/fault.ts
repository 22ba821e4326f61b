/**
 * Fault modes of a simulated region, switchable at run time (by code, the control server or a drill).
 * `parseFault` validates untrusted input (a control-server body) and reports every problem at once,
 * naming the key and the reason, like the gateway's config errors.
 */

export const FAULT_MODES = ['none', 'down', 'error', 'hang', 'reset', 'slow', 'ratelimit'] as const;

export type FaultMode = (typeof FAULT_MODES)[number];

/** What a simulated region does wrong. Options that do not apply to the mode are ignored. */
export interface Fault {
  /**
   * - `none`: behave.
   * - `down`: stop listening, so connections are refused (ECONNREFUSED); re-listen on the same port after.
   * - `error`: answer `status` (5xx) with an OpenAI-style error body.
   * - `hang`: read the request, never answer.
   * - `reset`: destroy the socket before any response byte, or after `afterTokens` tokens / part of the body.
   * - `slow`: add `delayMs` to the latency.
   * - `ratelimit`: answer 429 with `Retry-After: retryAfterSec` and a `rate_limit_exceeded` error.
   */
  mode: FaultMode;
  /** For `error`: the status, 500..599 (default 500). */
  status?: number;
  /** For `slow`: extra latency before headers, in ms (default 1000). */
  delayMs?: number;
  /** For `ratelimit`: the `Retry-After` value in seconds (default 1). */
  retryAfterSec?: number;
  /** For `reset`: cut the connection after this many tokens (streams) or part of the body (others). */
  afterTokens?: number;
  /** Share of requests affected, 0..1 (default 1). `down` ignores it: a listener is up or not. */
  probability?: number;
}

export const NO_FAULT: Readonly<Fault> = Object.freeze({ mode: 'none' });

export const DEFAULT_ERROR_STATUS = 500;
export const DEFAULT_SLOW_DELAY_MS = 1000;
export const DEFAULT_RETRY_AFTER_SEC = 1;

export type FaultParseResult = { ok: true; fault: Readonly<Fault> } | { ok: false; errors: string[] };

const KEYS = new Set(['mode', 'status', 'delayMs', 'retryAfterSec', 'afterTokens', 'probability']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInt(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isFaultMode(value: unknown): value is FaultMode {
  return typeof value === 'string' && (FAULT_MODES as readonly string[]).includes(value);
}

/** Validate an untrusted fault; unknown keys are rejected. The fault returned is a frozen copy. */
export function parseFault(input: unknown): FaultParseResult {
  if (!isRecord(input)) return { ok: false, errors: ['fault: must be a JSON object such as {"mode":"error"}'] };
  const errors: string[] = [];
  for (const key of Object.keys(input)) {
    if (!KEYS.has(key)) errors.push(`fault.${key}: unknown key`);
  }
  const { mode, status, delayMs, retryAfterSec, afterTokens, probability } = input;
  if (!isFaultMode(mode)) errors.push(`fault.mode: must be one of ${FAULT_MODES.join(', ')}`);
  if (status !== undefined && !isInt(status, 500, 599)) errors.push('fault.status: must be an integer 500..599');
  if (delayMs !== undefined && !isInt(delayMs, 0)) errors.push('fault.delayMs: must be an integer >= 0');
  if (retryAfterSec !== undefined && !isInt(retryAfterSec, 0)) {
    errors.push('fault.retryAfterSec: must be an integer >= 0');
  }
  if (afterTokens !== undefined && !isInt(afterTokens, 0)) errors.push('fault.afterTokens: must be an integer >= 0');
  if (
    probability !== undefined &&
    (typeof probability !== 'number' || !(probability >= 0 && probability <= 1))
  ) {
    errors.push('fault.probability: must be a number 0..1');
  }
  if (errors.length > 0 || !isFaultMode(mode)) return { ok: false, errors };
  const fault: Fault = { mode };
  if (status !== undefined) fault.status = status as number;
  if (delayMs !== undefined) fault.delayMs = delayMs as number;
  if (retryAfterSec !== undefined) fault.retryAfterSec = retryAfterSec as number;
  if (afterTokens !== undefined) fault.afterTokens = afterTokens as number;
  if (probability !== undefined) fault.probability = probability as number;
  return { ok: true, fault: Object.freeze(fault) };
}

/** Like `parseFault`, for trusted callers: throws a `TypeError` listing every problem. */
export function toFault(input: Fault): Readonly<Fault> {
  const result = parseFault(input);
  if (!result.ok) throw new TypeError(`invalid fault:\n  ${result.errors.join('\n  ')}`);
  return result.fault;
}
