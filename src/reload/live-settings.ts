/**
 * Which settings a reload applies to a running gateway, and which wait for a restart. A setting is live
 * only where the code reads it afresh after a reload (a new picker, the exchange options of the next
 * request, the logger's level); everything else that changed is named in the answer's `notLive` and in a
 * log line, never silently ignored.
 */
import { HEALTH_NOT_LIVE } from '../health/health-options.js';
import { LOAD_SCORING_NOT_LIVE } from '../load/load-book.js';

/** Exact paths or path prefixes (`routing.rules` covers `routing.rules[0]...`) applied live. */
const LIVE: readonly string[] = [
  // A new picker and catalog are built from them.
  'routing.overprovisioningFactor',
  'routing.panicThreshold',
  'routing.scoreTolerance',
  'routing.rules',
  // The next request's exchange options (`Gateway.reconfigure`).
  'retry.attempts',
  'retry.statuses',
  'retry.nonIdempotent',
  'retry.replayablePaths',
  'retry.hedge',
  // Reconfigured in place (`RetryBudget.configure`); a new `ttl` starts a new window.
  'retry.budget',
  'timeouts.queue',
  'timeouts.connect',
  'timeouts.firstByte',
  'timeouts.firstByteStream',
  'timeouts.firstByteUnary',
  'timeouts.idle',
  'timeouts.request',
  'limits.bodyBytes',
  // The one gateway-wide budget takes its new bound (`BodyBudget.setLimit`).
  'limits.bufferedBytes',
  'log.level',
  // Reconfigured in place with every endpoint's state kept (`HealthTracker.configure`,
  // `LoadBook.configure`), except what `EXCEPT` names.
  'health',
  'routing.loadSignals',
  // The access log and the tracer are rebuilt from the new config.
  'log.access',
  'telemetry.tracing',
  // The switch itself: the watcher starts or stops.
  'watch',
  // TLS toward clients (branch listentls): its listener swaps its secure context in an `onReload` hook,
  // which every reload calls, so the files are re-read even when the setting did not change.
  'listen.tls',
];

/** Under a live prefix, yet applied only at start: the prober's existence and target, the breakers, the load scrapers' own settings. */
const EXCEPT: readonly string[] = [...HEALTH_NOT_LIVE, ...LOAD_SCORING_NOT_LIVE];

const covers = (prefix: string, path: string): boolean => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

/** Whether a change at `path` takes effect without a restart. */
export function isLiveSetting(path: string): boolean {
  return LIVE.some((p) => covers(p, path)) && !EXCEPT.some((p) => covers(p, path));
}

/** The changed paths that need a restart, each named once at the depth of its setting. */
export function notLiveSettings(changed: readonly string[]): string[] {
  return changed.filter((p) => !isLiveSetting(p));
}
