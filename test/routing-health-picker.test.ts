import t from 'tap';
import type { Endpoint } from '../src/registry/endpoint.js';
import { Registry } from '../src/registry/registry.js';
import { HealthAwarePicker, type HealthAwarePickerOptions, type PickResult } from '../src/routing/health-picker.js';
import type { HealthView } from '../src/routing/health-view.js';
import type { PickRequest } from '../src/routing/picker.js';
import { seededRandom } from '../src/util/random.js';
import { pickerOptions } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

/** An in-test HealthView: everything routable, full weight, score 100, unless told otherwise. */
class FakeHealth implements HealthView {
  readonly down = new Set<string>();
  readonly factors = new Map<string, number>();
  readonly scores = new Map<string, number>();
  /** Drained by an operator (or in a drill): not routable, and never picked even in panic. */
  readonly drains = new Set<string>();
  isRoutable(e: Endpoint): boolean {
    return !this.down.has(e.id) && !this.drains.has(e.id);
  }
  weightFactor(e: Endpoint): number {
    return this.factors.get(e.id) ?? 1;
  }
  score(e: Endpoint): number {
    return this.scores.get(e.id) ?? 100;
  }
  drained(e: Endpoint): boolean {
    return this.drains.has(e.id);
  }
}

const ep = (id: string, region: string, priority = 0, opts: { weight?: number; models?: string[] } = {}): Endpoint =>
  testEndpoint(id, { region, priority, origin: `http://${id}.invalid`, ...opts });

function setup(endpoints: Endpoint[], options: Partial<HealthAwarePickerOptions> = {}, seed = 42) {
  const health = new FakeHealth();
  const picker = new HealthAwarePicker({ endpoints, health, random: seededRandom(seed), options: pickerOptions(options) });
  return { health, picker };
}

function req(model?: string, tried: Endpoint[] = [], regions?: string[]): PickRequest {
  return { model, tried, regions: regions ? new Set(regions) : undefined };
}

/** Share of `n` picks that went to each endpoint id. */
function shares(picker: HealthAwarePicker, r: PickRequest, n = 20_000): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const e = picker.pick(r);
    const key = e?.id ?? 'none';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [k, v] of counts) counts.set(k, v / n);
  return counts;
}

function shareWhere(s: Map<string, number>, pred: (id: string) => boolean): number {
  let sum = 0;
  for (const [k, v] of s) if (pred(k)) sum += v;
  return sum;
}

const tier = (region: string, priority: number, n: number) =>
  Array.from({ length: n }, (_, i) => ep(`${region}-${i}`, region, priority));

t.test('only endpoints serving the model are candidates', async (t) => {
  const { picker } = setup([ep('a', 'us', 0, { models: ['llama'] }), ep('b', 'us', 0, { models: ['gpt'] }), ep('c', 'eu')]);
  const s = shares(picker, req('gpt'), 2000);
  t.same([...s.keys()].sort(), ['b', 'c'], 'gpt goes to b or the any-model c');
  t.equal(picker.pick(req('mistral'))?.id, 'c');
  const any = shares(picker, req(undefined), 3000);
  t.equal(any.size, 3, 'a request without a model goes anywhere');
});

t.test('regions from the request restrict candidates', async (t) => {
  const { picker } = setup([ep('us-0', 'us'), ep('eu-0', 'eu'), ep('ap-0', 'ap')]);
  const s = shares(picker, req(undefined, [], ['eu', 'ap']), 2000);
  t.same([...s.keys()].sort(), ['ap-0', 'eu-0']);
  t.equal(picker.pick(req(undefined, [], ['nowhere'])), undefined);
});

t.test('route rules restrict regions for matching models and intersect with the request', async (t) => {
  const { picker } = setup([ep('us-0', 'us'), ep('eu-0', 'eu'), ep('eu-1', 'eu'), ep('ap-0', 'ap')], {
    routeRules: [{ model: 'llama-*', regions: ['eu'] }, { model: 'secret', regions: ['ap'] }],
  });
  const llama = shares(picker, req('llama-3-70b'), 2000);
  t.same([...llama.keys()].sort(), ['eu-0', 'eu-1'], 'glob rule keeps llama-* in eu');
  t.equal(picker.pick(req('secret'))?.id, 'ap-0', 'exact rule');
  t.equal(shares(picker, req('gpt-4o'), 3000).size, 4, 'other models are not restricted');
  t.equal(picker.pick(req('llama-3', [], ['us'])), undefined, 'header us ∩ rule eu = nothing');

  const all = setup([ep('us-0', 'us'), ep('eu-0', 'eu')], { routeRules: [{ regions: ['eu'] }] }).picker;
  t.same([...shares(all, req(undefined), 500).keys()], ['eu-0'], 'a rule without a model applies to all');
});

t.test('priority spill follows Envoy priority load as tier 0 degrades', async (t) => {
  // [healthy of 10 in tier 0, expected share of tier 0] with tier 1 fully healthy
  const cases: [number, number][] = [
    [10, 1],
    [8, 1], // 80% × 1.4 > 100%
    [7, 0.98],
    [5, 0.7],
    [2, 0.28],
    [0, 0],
  ];
  for (const [healthy, expected] of cases) {
    const { picker, health } = setup([...tier('us', 0, 10), ...tier('eu', 1, 10)]);
    for (let i = healthy; i < 10; i++) health.down.add(`us-${i}`);
    const s = shares(picker, req('m'));
    t.ok(Math.abs(shareWhere(s, (id) => id.startsWith('us')) - expected) < 0.015, `${healthy}/10 healthy → ${expected * 100}% to tier 0`);
    t.equal(s.get('none'), undefined);
  }
});

t.test('priority load when several tiers degrade', async (t) => {
  const both = setup([...tier('us', 0, 10), ...tier('eu', 1, 10)]);
  for (let i = 5; i < 10; i++) both.health.down.add(`us-${i}`).add(`eu-${i}`);
  let s = shares(both.picker, req());
  t.ok(Math.abs(shareWhere(s, (id) => id.startsWith('us')) - 0.7) < 0.015, '50%/50%: tier 0 takes 70%, tier 1 the rest');

  const low = setup([...tier('us', 0, 10), ...tier('eu', 1, 10)]);
  for (let i = 2; i < 10; i++) low.health.down.add(`us-${i}`).add(`eu-${i}`);
  s = shares(low.picker, req());
  t.ok(Math.abs(shareWhere(s, (id) => id.startsWith('us')) - 0.5) < 0.015, '20%/20%: health 28%/28% normalized to 50/50');
  t.equal(shareWhere(s, (id) => Number(id.split('-')[1]) >= 2), 0, 'no pick of an unroutable endpoint');
});

t.test('probation weight factor counts as partial capacity in the tier', async (t) => {
  const { picker, health } = setup([...tier('us', 0, 10), ...tier('eu', 1, 10)]);
  for (let i = 0; i < 10; i++) health.factors.set(`us-${i}`, 0.5);
  const s = shares(picker, req());
  t.ok(Math.abs(shareWhere(s, (id) => id.startsWith('us')) - 0.7) < 0.015, 'all of tier 0 at half weight → 70%');
});

t.test('power of two choices prefers the lower score without herding', async (t) => {
  const { picker, health } = setup([ep('a', 'us'), ep('b', 'us'), ep('fresh', 'us')]);
  health.scores.set('fresh', 1); // a new, very fast endpoint
  const s = shares(picker, req());
  const fresh = s.get('fresh') ?? 0;
  t.ok(fresh > 0.6, `the best endpoint wins every pair it is in (${fresh.toFixed(3)} ≈ 2/3)`);
  t.ok(fresh < 0.75, 'but only those: well under 90%, no herding onto it');
  t.ok(Math.abs((s.get('a') ?? 0) - (s.get('b') ?? 0)) < 0.02, 'the others share the rest evenly');

  const many = setup(tier('us', 0, 10));
  many.health.scores.set('us-0', 1);
  const share = shares(many.picker, req()).get('us-0') ?? 0;
  t.ok(share > 0.15 && share < 0.25, `with 10 endpoints the best gets ≈ 2/10 (${share.toFixed(3)})`);
});

t.test('weights are respected', async (t) => {
  const { picker, health } = setup([ep('big', 'us', 0, { weight: 3 }), ep('small', 'us', 0, { weight: 1 })]);
  let s = shares(picker, req());
  t.ok(Math.abs((s.get('big') ?? 0) - 0.75) < 0.015, 'weight 3:1 with equal scores → 75%');
  health.factors.set('big', 1 / 3);
  s = shares(picker, req());
  t.ok(Math.abs((s.get('big') ?? 0) - 0.5) < 0.015, 'weightFactor scales the weight (probation ramp)');
  health.down.add('small');
  t.equal(shares(picker, req(), 500).get('big'), 1, 'a single candidate is always picked');
});

t.test('retries skip tried endpoints and prefer untried regions', async (t) => {
  const us0 = ep('us-0', 'us');
  const us1 = ep('us-1', 'us');
  const eu0 = ep('eu-0', 'eu');
  const eu1 = ep('eu-1', 'eu');
  const ap0 = ep('ap-0', 'ap', 1);
  const { picker, health } = setup([us0, us1, eu0, eu1, ap0]);

  let s = shares(picker, req(undefined, [us0]), 2000);
  t.same([...s.keys()].sort(), ['eu-0', 'eu-1'], 'after us-0 fails: the other priority-0 region');
  s = shares(picker, req(undefined, [us0, eu0]), 2000);
  t.same([...s.keys()], ['ap-0'], 'after us and eu fail: a fresh region, even at a lower priority');

  health.down.add('ap-0');
  s = shares(picker, req(undefined, [us0, eu0]), 2000);
  t.same([...s.keys()].sort(), ['eu-1', 'us-1'], 'fresh regions unroutable: other endpoints of tried regions');
  t.equal(picker.pickDetailed(req(undefined, [us0, eu0]))?.panic, false, 'that is no panic');

  t.equal(picker.pickDetailed(req(undefined, [us0, eu0, us1, eu1]))?.endpoint.id, 'ap-0', 'then the unroutable one, in panic');
  t.equal(picker.pick(req(undefined, [us0, eu0, us1, eu1, ap0])), undefined, 'never an endpoint already tried');
});

t.test('panic spreads over every candidate by weight, not all on the one expected back soonest', async (t) => {
  const eps = [ep('a', 'us'), ep('a2', 'us'), ep('b', 'eu'), ep('c', 'ap', 1, { weight: 2 }), ep('other-model', 'us', 0, { models: ['x'] })];
  const { picker, health } = setup(eps);
  for (const e of eps) health.down.add(e.id);
  t.equal(picker.routable(), false, 'routable() is false: /readyz turns 503 even though panic would route');

  // The case from the issue: 60 requests in panic all went to one endpoint. Now by weight, every tier.
  const counts = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const r = picker.pickDetailed(req('m'));
    t.equal(r?.panic, true);
    counts.set(r!.endpoint.id, (counts.get(r!.endpoint.id) ?? 0) + 1);
  }
  t.same([...counts.keys()].sort(), ['a', 'a2', 'b', 'c'], 'every candidate serving the model, none other');
  t.ok(Math.abs((counts.get('c') ?? 0) / 6000 - 0.4) < 0.03, `weight 2 of 5 takes ~40% (${counts.get('c')})`);
  t.ok(Math.abs((counts.get('b') ?? 0) / 6000 - 0.2) < 0.03, `weight 1 of 5 takes ~20% (${counts.get('b')})`);

  // Retries still prefer untried regions, then the tried regions' other endpoints.
  const a = eps[0];
  for (let i = 0; i < 200; i++) t.not(picker.pick(req('m', [a]))?.region, 'us', 'a retry goes to an untried region first');
  t.equal(picker.pick(req('m', [a, eps[2], eps[3]]))?.id, 'a2', 'then the tried region\'s other endpoint');
  t.equal(picker.pick(req('m', [a, eps[1], eps[2], eps[3]])), undefined, 'never an endpoint already tried');

  health.down.delete('c');
  t.equal(picker.routable(), true);
  t.same(picker.pickDetailed(req('m')), { endpoint: eps[3], panic: false }, 'one routable endpoint: no panic');
});

t.test('operator intent wins over panic: a drained endpoint is never picked, and the miss says why', async (t) => {
  const eps = [ep('us-0', 'us-east-1'), ep('us-1', 'us-east-1'), ep('only-us', 'us-east-1', 0, { models: ['us-model'] }), ep('eu-0', 'eu', 0, { models: ['m'] })];
  const { picker, health } = setup(eps);
  for (const id of ['us-0', 'us-1', 'only-us']) health.drains.add(id);
  health.down.add('eu-0');
  for (let i = 0; i < 200; i++) t.equal(picker.pick(req('m'))?.id, 'eu-0', 'panic goes to the ejected eu-0, never to a drained one');
  t.equal(picker.pick(req(undefined, [], ['us-east-1'])), undefined, 'pinned to the drained region: nothing');
  t.same(picker.explainMiss(req(undefined, [], ['us-east-1'])), { reason: 'drained', regions: ['us-east-1'] });
  t.equal(picker.pick(req('us-model')), undefined, 'a model only the drained region serves: nothing');
  t.same(picker.explainMiss(req('us-model')), { reason: 'drained', regions: ['us-east-1'] });
  t.same(picker.explainMiss(req('no-such-model', [], ['eu'])), { reason: 'no_candidate' }, 'no candidate at all is no drain');
  t.same(picker.explainMiss(req(undefined, [eps[3]])), { reason: 'no_candidate' }, 'an undrained candidate (even tried) is no drain');

  // Threshold panic ignores health, never a drain.
  const th = setup([...tier('us', 0, 10), ...tier('eu', 1, 10)], { panicThreshold: 0.5 });
  for (let i = 0; i < 10; i++) th.health.down.add(`eu-${i}`);
  for (let i = 0; i < 8; i++) th.health.drains.add(`us-${i}`);
  for (let i = 8; i < 10; i++) th.health.down.add(`us-${i}`);
  th.health.down.delete('us-9');
  const s = shares(th.picker, req(), 5000);
  t.equal(shareWhere(s, (id) => id.startsWith('us') && Number(id.split('-')[1]) < 8), 0, 'no drained endpoint in threshold panic');
  t.ok((s.get('us-9') ?? 0) > 0, 'the routable one still serves');
});

t.test('panic threshold: a tier below it routes across all its endpoints', async (t) => {
  const off = setup(tier('us', 0, 10));
  for (let i = 3; i < 10; i++) off.health.down.add(`us-${i}`);
  t.equal(shares(off.picker, req()).size, 3, 'threshold off: only the 3 routable endpoints');

  const on = setup(tier('us', 0, 10), { panicThreshold: 0.5 });
  for (let i = 3; i < 10; i++) on.health.down.add(`us-${i}`);
  const s = shares(on.picker, req());
  t.equal(s.size, 10, '30% healthy < 50%: every endpoint of the tier');
  t.ok(Math.abs((s.get('us-9') ?? 0) - 0.1) < 0.015, 'spread by weight, health ignored');
  t.equal(on.picker.pickDetailed(req())?.panic, true, 'reported as a panic pick');

  for (const id of ['us-3', 'us-4', 'us-5']) on.health.down.delete(id); // 60% healthy
  t.equal(shares(on.picker, req()).size, 6, 'above the threshold: healthy endpoints only');

  const spill = setup([...tier('us', 0, 10), ...tier('eu', 1, 10)], { panicThreshold: 0.5 });
  for (let i = 3; i < 10; i++) spill.health.down.add(`us-${i}`);
  const sp = shares(spill.picker, req());
  t.ok(Math.abs(shareWhere(sp, (id) => id.startsWith('us')) - 0.42) < 0.015, 'total health ≥ 100%: no panic, plain spill');
  t.equal(shareWhere(sp, (id) => id.startsWith('us') && Number(id.split('-')[1]) >= 3), 0);

  const all = setup([...tier('us', 0, 10), ...tier('eu', 1, 20)], { panicThreshold: 0.5 });
  for (let i = 3; i < 10; i++) all.health.down.add(`us-${i}`);
  for (let i = 8; i < 20; i++) all.health.down.add(`eu-${i}`);
  const ap = shares(all.picker, req());
  t.ok(Math.abs(shareWhere(ap, (id) => id.startsWith('us')) - 1 / 3) < 0.015, 'every tier in panic: load by total weight');
  t.equal(ap.size, 30, 'and health is ignored everywhere');
});

t.test('pickDetailed fills the caller-provided result without allocating', async (t) => {
  const { picker } = setup([ep('a', 'us')]);
  const out: PickResult = { endpoint: ep('placeholder', 'x'), panic: true };
  t.equal(picker.pickDetailed(req(), out), out);
  t.match(out, { endpoint: { id: 'a' }, panic: false });
  const empty = setup([]).picker;
  t.equal(empty.pick(req()), undefined);
  t.equal(empty.routable(), false);
});

t.test('built from a registry', async (t) => {
  const registry = Registry.fromConfig({
    regions: [
      {
        name: 'us',
        provider: 'p',
        priority: 0,
        endpoints: [{ url: 'http://us.invalid', weight: 1, models: ['*'], headers: {}, connections: 0 }],
      },
      {
        name: 'eu',
        provider: 'p',
        priority: 1,
        endpoints: [{ url: 'http://eu.invalid', weight: 1, models: ['llama'], headers: {}, connections: 0 }],
      },
    ],
  });
  const health = new FakeHealth();
  const picker = new HealthAwarePicker({ registry, health, random: seededRandom(1), options: pickerOptions() });
  t.equal(picker.pick(req('llama'))?.id, 'us-0');
  health.down.add('us-0');
  t.equal(picker.pick(req('llama'))?.id, 'eu-0');
});

t.test('rejects bad options', async (t) => {
  t.throws(() => setup([ep('a', 'us')], { overprovisioningFactor: 0.5 }), RangeError);
  t.throws(() => setup([ep('a', 'us')], { panicThreshold: 2 }), RangeError);
});
