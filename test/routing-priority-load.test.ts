import t from 'tap';
import { PriorityLoad } from '../src/routing/priority-load.js';

/** Loads for tiers given as [total, healthy] pairs. */
function loads(tiers: [number, number][], panicThreshold = 0): { ok: boolean; load: number[]; panic: boolean[] } {
  const p = new PriorityLoad(tiers.length, { overprovisioningFactor: 1.4, panicThreshold });
  p.reset();
  tiers.forEach(([total, healthy], i) => p.add(i, total, healthy));
  const ok = p.compute();
  return {
    ok,
    load: tiers.map((_, i) => Math.round(p.load(i) * 1000) / 1000),
    panic: tiers.map((_, i) => p.inPanic(i)),
  };
}

t.test('Envoy priority-level examples (two levels, P=1 fully healthy)', async (t) => {
  // From Envoy's "Priority levels" table: P=0 healthy % → traffic to P=0.
  const table: [number, number][] = [
    [100, 1],
    [72, 1],
    [71, 0.994],
    [50, 0.7],
    [25, 0.35],
    [0, 0],
  ];
  for (const [healthy, toP0] of table) {
    const r = loads([
      [100, healthy],
      [100, 100],
    ]);
    t.same(r.load, [toP0, Math.round((1 - toP0) * 1000) / 1000], `${healthy}% healthy`);
  }
});

t.test('three levels spill in order; degraded totals are normalized', async (t) => {
  t.same(loads([[10, 2], [10, 2], [10, 10]]).load, [0.28, 0.28, 0.44]);
  t.same(loads([[10, 1], [10, 1]]).load, [0.5, 0.5], 'total health 28% scaled to 100%');
  t.same(loads([[0, 0], [10, 10]]).load, [0, 1], 'an empty tier takes nothing');
  t.equal(loads([[10, 0], [10, 0]]).ok, false, 'nothing healthy: nothing to route by health');
});

t.test('panic threshold', async (t) => {
  t.same(loads([[10, 3], [10, 10]], 0.5).panic, [false, false], 'total health ≥ 100%: no panic');
  let r = loads([[10, 2], [10, 5]], 0.5); // health 28% + 70% < 100%
  t.same(r.panic, [true, false], 'only the tier under the threshold (50% is not under 50%)');
  t.same(r.load, [0.286, 0.714], 'loads still by health');
  r = loads([[10, 3], [30, 12]], 0.5);
  t.same(r.panic, [true, true]);
  t.same(r.load, [0.25, 0.75], 'all tiers in panic: by total weight');
  t.same(loads([[10, 3]], 0).panic, [false], 'threshold 0 = off');
});

t.test('draw lands in tiers by load', async (t) => {
  const p = new PriorityLoad(3, { overprovisioningFactor: 1.4, panicThreshold: 0 });
  p.reset();
  p.add(0, 10, 5);
  p.add(1, 10, 0);
  p.add(2, 10, 10);
  p.compute();
  t.equal(p.draw(0), 0);
  t.equal(p.draw(0.69), 0);
  t.equal(p.draw(0.7), 2, 'skips the tier without load');
  t.equal(p.draw(0.999999999), 2);
  t.equal(p.draw(1), 2, 'a draw past the end stays in the last loaded tier');
});
