/**
 * Percentiles and medians. Percentiles are nearest-rank over every sample (no histogram buckets);
 * figures across rounds are medians of the per-round figures.
 */

/**
 * @typedef {object} Summary
 * @property {number} count
 * @property {number} mean
 * @property {number} p50
 * @property {number} p90
 * @property {number} p99
 * @property {number} p999
 * @property {number} max
 */

/**
 * Summarize the first `count` values.
 * @param {ArrayLike<number>} values
 * @param {number} [count]
 * @returns {Summary}
 */
export function summarize(values, count = values.length) {
  if (count <= 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
  const sorted = Float64Array.from({ length: count }, (_, i) => values[i]).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i];
  return {
    count,
    mean: sum / count,
    p50: rank(sorted, 50),
    p90: rank(sorted, 90),
    p99: rank(sorted, 99),
    p999: rank(sorted, 99.9),
    max: sorted[count - 1],
  };
}

/** Nearest-rank percentile of sorted values. */
function rank(/** @type {Float64Array} */ sorted, /** @type {number} */ p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Median of the finite numbers in `xs` (NaN when there are none).
 * @param {readonly (number | null | undefined)[]} xs
 */
export function median(xs) {
  const v = /** @type {number[]} */ (xs.filter((x) => typeof x === 'number' && Number.isFinite(x))).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}
