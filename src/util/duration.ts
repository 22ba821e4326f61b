/**
 * Durations in config: a number of milliseconds, or a string such as "250ms", "2s", "1.5m", "1h".
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/;

/** Parse a duration to milliseconds; returns `undefined` when the input is not a duration. */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  if (typeof input !== 'string') return undefined;
  const m = PATTERN.exec(input);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
}

/** Milliseconds as the shortest exact duration string: 500 → "500ms", 30000 → "30s", 180000 → "3m". */
export function formatDurationMs(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return ms === 0 ? '0' : `${ms}ms`;
}
