/**
 * What the current fault does to one request: roll its probability, then turn the mode into a verdict the
 * simulator (HTTP and upgrade paths alike) carries out. `down` is handled by the listener, not here.
 */
import { DEFAULT_ERROR_STATUS, DEFAULT_RETRY_AFTER_SEC, DEFAULT_SLOW_DELAY_MS, type Fault } from './fault.js';
import { openAiError, type OpenAiErrorBody } from './openai-payloads.js';

export type FaultVerdict =
  /** Serve normally, `delayMs` later than usual; cut after `resetAfter` tokens when set. */
  | { kind: 'pass'; delayMs: number; resetAfter?: number }
  /** Read the request, never answer. */
  | { kind: 'hang' }
  /** Reset the connection before any response byte. */
  | { kind: 'reset' }
  /** Answer this error (after the base latency). */
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: OpenAiErrorBody };

const PASS: FaultVerdict = Object.freeze({ kind: 'pass', delayMs: 0 });

/** The verdict of `fault` for one request; `random` returns a float in [0, 1). */
export function faultVerdict(fault: Readonly<Fault>, random: () => number, region: string): FaultVerdict {
  if (fault.mode === 'none' || fault.mode === 'down') return PASS;
  if (random() >= (fault.probability ?? 1)) return PASS;
  switch (fault.mode) {
    case 'slow':
      return { kind: 'pass', delayMs: fault.delayMs ?? DEFAULT_SLOW_DELAY_MS };
    case 'hang':
      return { kind: 'hang' };
    case 'reset':
      return fault.afterTokens === undefined ? { kind: 'reset' } : { kind: 'pass', delayMs: 0, resetAfter: fault.afterTokens };
    case 'error': {
      const status = fault.status ?? DEFAULT_ERROR_STATUS;
      const message = `The server had an error while processing your request (simulated fault in region ${region}).`;
      return { kind: 'answer', status, headers: {}, body: openAiError(message, 'server_error', 'server_error') };
    }
    case 'ratelimit': {
      const retryAfter = fault.retryAfterSec ?? DEFAULT_RETRY_AFTER_SEC;
      const message = `Rate limit reached in region ${region} (simulated). Please try again in ${retryAfter}s.`;
      return {
        kind: 'answer',
        status: 429,
        headers: { 'retry-after': String(retryAfter) },
        body: openAiError(message, 'requests', 'rate_limit_exceeded'),
      };
    }
  }
}
