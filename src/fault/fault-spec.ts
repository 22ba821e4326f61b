/**
 * A drill's fault (as Envoy's fault filter injects one): what happens to the chosen attempts toward a
 * region's endpoints (`error`: answered as if the endpoint failed; `hang`: stalled until the first-byte
 * timeout; `slow`: sent after a delay), and to what share of them. The CLI, the admin API and the
 * config validate with the same rules here; the fleet carries the spec inside the fault intent's signed
 * `cause` (`encodeFault` / `decodeFault`), so the wire format and its signature stay as they are.
 */
import { parseDuration } from '../util/duration.js';

export const FAULT_KINDS = ['error', 'hang', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  readonly kind: FaultKind;
  /** Share of attempts toward the region that get the fault, 0..100. */
  readonly percent: number;
  /** `slow`: the delay added before the attempt is sent (ms); 0 for the other kinds. */
  readonly delayMs: number;
}

/** Longest delay a `slow` fault adds: longer than any sensible first-byte timeout. */
export const MAX_FAULT_DELAY_MS = 600_000;
export const DEFAULT_FAULT_DELAY_MS = 500;

export function isFaultKind(v: unknown): v is FaultKind {
  return typeof v === 'string' && (FAULT_KINDS as readonly string[]).includes(v);
}

/** A spec from loose input (CLI flags, query parameters); a message naming the bad field otherwise. */
export function parseFaultSpec(kind: unknown, percent: unknown, delay: unknown): FaultSpec | string {
  if (!isFaultKind(kind)) return `fault must be one of ${FAULT_KINDS.join(', ')}`;
  const p = typeof percent === 'number' ? percent : typeof percent === 'string' && percent.trim() !== '' ? Number(percent.replace(/%$/, '')) : Number.NaN;
  if (!(p >= 0 && p <= 100)) return 'percent must be a number from 0 to 100';
  let delayMs = 0;
  if (kind === 'slow') {
    const d = delay === undefined || delay === null ? DEFAULT_FAULT_DELAY_MS : parseDuration(delay);
    if (d === undefined || d < 1 || d > MAX_FAULT_DELAY_MS) return 'delay must be a duration from 1ms to 10m (e.g. 500ms)';
    delayMs = d;
  } else if (delay !== undefined && delay !== null) return 'delay applies to the slow fault only';
  return { kind, percent: p, delayMs };
}

/** `fault <kind> <percent> <delayMs> <reason>`: the cause of a fault intent. */
export function encodeFault(spec: FaultSpec, reason: string): string {
  return `fault ${spec.kind} ${spec.percent} ${spec.delayMs} ${reason}`;
}

const CAUSE = /^fault (error|hang|slow) (\d+(?:\.\d+)?) (\d+) (.*)$/s;

/** The spec and reason of a fault intent's cause; undefined when it is not one (ignored, never guessed). */
export function decodeFault(cause: string): { readonly spec: FaultSpec; readonly reason: string } | undefined {
  const m = CAUSE.exec(cause);
  if (m === null) return undefined;
  const spec = parseFaultSpec(m[1], m[2], m[1] === 'slow' ? `${m[3]}ms` : undefined);
  return typeof spec === 'string' || (m[1] !== 'slow' && m[3] !== '0') ? undefined : { spec, reason: m[4] };
}

/** A short label for logs and reports: `error 50 %`, `slow 500 ms 20 %`. */
export function describeFault(spec: FaultSpec): string {
  return spec.kind === 'slow' ? `slow ${spec.delayMs} ms ${spec.percent} %` : `${spec.kind} ${spec.percent} %`;
}
