/**
 * Shared latency buckets: a value lands in the bucket that covers it, a bucket's value is within about
 * 12 % of anything it holds, and merged windows give the fleet's percentiles where the worst gateway's
 * would mislead; the fleet view's totals carry them per region.
 */
import t from 'tap';
import { FleetBoard } from '../src/fleet/fleet-board.js';
import { bucketOf, bucketValueMs, histogramOf, MAX_BUCKET, mergedQuantiles } from '../src/fleet/latency-buckets.js';
import { TrafficTally } from '../src/fleet/traffic-tally.js';
import type { Endpoint } from '../src/registry/endpoint.js';
import { FleetSigner } from '../src/state/fleet-signer.js';
import { MemoryBus, MemoryStore } from '../src/state/memory-store.js';
import { FakeClock } from '../src/util/fake-clock.js';

t.test('buckets cover every value within about 12 %', async (t) => {
  t.equal(bucketOf(0), 0);
  t.equal(bucketOf(1), 0);
  t.equal(bucketOf(Number.NaN), 0);
  t.equal(bucketOf(1e9), MAX_BUCKET, 'anything slower lands in the last bucket');
  let worst = 0;
  for (let ms = 1.01; ms < 500_000; ms *= 1.013) worst = Math.max(worst, Math.abs(bucketValueMs(bucketOf(ms)) - ms) / ms);
  t.ok(worst < 0.125, `worst relative error ${(worst * 100).toFixed(1)} %`);
  for (let b = 1; b < MAX_BUCKET; b++) t.ok(bucketValueMs(b) < bucketValueMs(b + 1), `bucket ${b} below ${b + 1}`);
  t.same(histogramOf([0.5, 10, 10.2, 300]), [[0, 1], [bucketOf(10), 2], [bucketOf(300), 1]]);
});

t.test('merged quantiles are those of all samples together, not the worst gateway\'s', async (t) => {
  // Gateway 1: 900 fast answers; gateway 2: 100 slow ones. Together the median is fast.
  const fast = histogramOf(Array.from({ length: 900 }, () => 10));
  const slow = histogramOf(Array.from({ length: 100 }, () => 400));
  const [p50, p99] = mergedQuantiles([fast, slow], [0.5, 0.99]);
  t.ok(Math.abs(p50! - 10) / 10 < 0.125, `p50 ${p50} ≈ 10 (the worst gateway's would be 400)`);
  t.ok(Math.abs(p99! - 400) / 400 < 0.125, `p99 ${p99} ≈ 400`);
  t.same(mergedQuantiles([], [0.5]), [null]);
  t.same(mergedQuantiles([[]], [0.5, 0.99]), [null, null]);
});

t.test('the fleet view\'s totals carry each region\'s merged percentiles', async (t) => {
  const clock = new FakeClock();
  const bus = new MemoryBus();
  const a = { id: 'a-0', region: 'a' } as Endpoint;
  const b = { id: 'b-0', region: 'b' } as Endpoint;
  const secret = 'latency-buckets-test-secret-0123456789';
  const boards = [];
  for (const [id, ms, n] of [['g1', 10, 90], ['g2', 400, 10]] as const) {
    const store = new MemoryStore({ gatewayId: id, clock, localEvents: () => [], bus, secret });
    await store.start();
    t.teardown(() => store.close());
    const tally = new TrafficTally([a, b], clock);
    for (let i = 0; i < n; i++) {
      tally.attemptStarted(a);
      tally.attemptEnded({ kind: 'success', endpoint: a, status: 200, ttfbMs: ms });
    }
    const board = new FleetBoard({ gatewayId: id, clock, store, signer: new FleetSigner(secret), tally, endpoints: () => [], inflight: () => 0, intervalMs: 1000 });
    t.teardown(() => board.close());
    boards.push(board);
  }
  for (const board of boards) await board.tick();
  await boards[0]!.tick(); // reads g2's summary
  const view = boards[0]!.view() as unknown as { gateways: { regions: { region: string; p50Ms: number | null; ttfb?: unknown }[] }[]; totals: { regions: Record<string, { p50Ms: number | null; p99Ms: number | null }> } };
  // g1's second window is empty; g2's first one (read from the store) holds its 10 slow samples.
  t.same(view.totals.regions.b, { attempts: 0, errors: 0, inflight: 0, p50Ms: null, p99Ms: null }, 'no samples: null');
  const ra = view.totals.regions.a!;
  t.ok(ra.p50Ms !== null && Math.abs(ra.p50Ms - 400) / 400 < 0.125, `region a p50 ${ra.p50Ms}: g2's window only (g1's latest window is empty)`);
  const g2 = boards[1]!.view() as unknown as typeof view;
  const merged = g2.totals.regions.a!;
  t.ok(merged.p50Ms !== null && Math.abs(merged.p50Ms - 10) / 10 < 0.125, `seen from g2, g1's first window (90 × 10 ms) and its own merge: p50 ${merged.p50Ms}`);
  t.ok(merged.p99Ms !== null && Math.abs(merged.p99Ms - 400) / 400 < 0.125, `p99 ${merged.p99Ms}`);
});
