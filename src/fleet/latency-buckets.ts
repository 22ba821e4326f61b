/**
 * Time-to-first-byte windows as log-spaced bucket counts that every gateway shares, so the windows of
 * several gateways merge exactly and the fleet view can give fleet-wide percentiles per region (the
 * percentiles of different gateways cannot be merged). Bucket `i` holds (GROWTH^(i-1), GROWTH^i] ms,
 * bucket 0 everything up to 1 ms; a merged quantile is read at its bucket's geometric middle, within
 * about 12 % of the exact value. Sparse on the wire: only non-empty buckets, as `[bucket, count]`.
 */

const GROWTH = 1.25;
/** The last bucket: it ends near 10 minutes and holds anything slower. */
export const MAX_BUCKET = 60;

/** `[bucket, count]` pairs with count > 0, in bucket order. */
export type SparseHistogram = [number, number][];

export function bucketOf(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(MAX_BUCKET, Math.ceil(Math.log(ms) / Math.log(GROWTH) - 1e-9));
}

/** The value a bucket stands for (ms): its geometric middle; 1 ms for bucket 0. */
export function bucketValueMs(bucket: number): number {
  if (bucket <= 0) return 1;
  return Math.round(GROWTH ** (bucket - 0.5) * 100) / 100;
}

/** The sparse histogram of `sortedMs` (ascending). */
export function histogramOf(sortedMs: ArrayLike<number>): SparseHistogram {
  const out: [number, number][] = [];
  for (let i = 0; i < sortedMs.length; i++) {
    const b = bucketOf(sortedMs[i]);
    const last = out[out.length - 1];
    if (last !== undefined && last[0] === b) last[1]++;
    else out.push([b, 1]);
  }
  return out;
}

/** The `p`-quantiles (0..1, nearest rank) of several histograms together; null when all are empty. */
export function mergedQuantiles(histograms: readonly (readonly (readonly [number, number])[])[], ps: readonly number[]): (number | null)[] {
  const counts = new Float64Array(MAX_BUCKET + 1);
  let total = 0;
  for (const h of histograms)
    for (const [b, n] of h) {
      counts[b] += n;
      total += n;
    }
  return ps.map((p) => {
    if (total === 0) return null;
    const rank = Math.min(total, Math.max(1, Math.ceil(p * total)));
    let seen = 0;
    for (let b = 0; b <= MAX_BUCKET; b++) {
      seen += counts[b];
      if (seen >= rank) return bucketValueMs(b);
    }
    return bucketValueMs(MAX_BUCKET);
  });
}
