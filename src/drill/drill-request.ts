/**
 * The body of `POST /admin/drills/run` (the dashboard's drill form): the same fields as `regiongate drill`'s
 * flags and a `drills.schedule` entry (`region`, `duration`, `maxErrorRate`, `mode`, `fault`, `percent`,
 * `delay`, `force`), checked with the same rules, every problem named at once.
 */
import { parseFaultSpec, type FaultSpec } from '../fault/fault-spec.js';
import { parseDuration } from '../util/duration.js';
import type { DrillOptions } from './drill-run.js';

const MAX_DURATION_MS = 86_400_000;
const FIELDS = new Set(['region', 'duration', 'maxErrorRate', 'mode', 'fault', 'percent', 'delay', 'force']);

/** The drill's options (origin `admin`), or every problem of the request. */
export function parseDrillRequest(body: unknown): { readonly options: DrillOptions } | { readonly problems: readonly string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { problems: ['the body must be a JSON object'] };
  const b = body as Record<string, unknown>;
  const problems = Object.keys(b)
    .filter((k) => !FIELDS.has(k))
    .map((k) => `${k}: unknown field`);
  const region = b.region;
  if (typeof region !== 'string' || region.length === 0 || region.length > 200) problems.push('region: must be a region name');
  const durationMs = parseDuration(b.duration);
  if (durationMs === undefined || durationMs < 1000 || durationMs > MAX_DURATION_MS) problems.push('duration: must be from 1s to 24h (e.g. "30s")');
  const rate = b.maxErrorRate === undefined ? 1 : typeof b.maxErrorRate === 'string' ? Number(b.maxErrorRate.replace(/%$/, '')) : b.maxErrorRate;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 100)) problems.push('maxErrorRate: must be a percentage from 0 to 100');
  const force = b.force ?? false;
  if (typeof force !== 'boolean') problems.push('force: must be true or false');
  const mode = b.mode ?? 'drain';
  let fault: FaultSpec | undefined;
  if (mode === 'fault') {
    const f = parseFaultSpec(b.fault, b.percent, b.delay === '' ? undefined : b.delay);
    if (typeof f === 'string') problems.push(f.replace(/^(\w+) /, '$1: '));
    else fault = f;
  } else if (mode !== 'drain') problems.push('mode: must be drain or fault');
  else if (b.fault !== undefined || b.percent !== undefined || b.delay !== undefined) problems.push('fault, percent and delay need mode "fault"');
  if (problems.length > 0 || typeof region !== 'string' || durationMs === undefined || typeof rate !== 'number') return { problems };
  return { options: { region, durationMs, maxErrorRatePct: rate, force: force === true, origin: 'admin', ...(fault !== undefined && { fault }) } };
}
