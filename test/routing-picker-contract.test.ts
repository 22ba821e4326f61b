/**
 * The contract every Picker keeps, run on each implementation (like hono's shared router cases). One
 * implementation today (`HealthAwarePicker`); a new policy joins the list below.
 */
import t from 'tap';
import type { Endpoint } from '../src/registry/endpoint.js';
import { HealthAwarePicker } from '../src/routing/health-picker.js';
import type { HealthView } from '../src/routing/health-view.js';
import type { PickRequest, Picker } from '../src/routing/picker.js';
import { seededRandom } from '../src/util/random.js';
import { pickerOptions } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

const allHealthy: HealthView = {
  isRoutable: () => true,
  weightFactor: () => 1,
  score: () => 1,
  drained: () => false,
};

const ep = (id: string, region: string, priority: number, models?: string[]): Endpoint =>
  testEndpoint(id, { region, priority, models, origin: `http://${id}.invalid` });

const endpoints = [ep('us-0', 'us', 0, ['llama']), ep('us-1', 'us', 0), ep('eu-0', 'eu', 1, ['llama', 'gpt']), ep('ap-0', 'ap', 2, ['gpt'])];

const implementations: [string, () => Picker][] = [
  ['HealthAwarePicker', () => new HealthAwarePicker({ endpoints, health: allHealthy, random: seededRandom(7), options: pickerOptions() })],
];

const req = (model: string | undefined, tried: Endpoint[] = [], regions?: string[]): PickRequest => ({
  model,
  tried,
  regions: regions ? new Set(regions) : undefined,
});

for (const [name, make] of implementations) {
  t.test(name, async (t) => {
    const picker = make();
    t.equal(picker.routable(), true);
    for (let i = 0; i < 50; i++) {
      const e = picker.pick(req('gpt'));
      t.ok(e && (e.models === undefined || e.models.has('gpt')), 'serves the model');
      const r = picker.pick(req(undefined, [], ['eu', 'ap']));
      t.ok(r && (r.region === 'eu' || r.region === 'ap'), 'stays in the allowed regions');
    }
    const tried: Endpoint[] = [];
    for (let e = picker.pick(req('llama', tried)); e; e = picker.pick(req('llama', tried))) {
      t.notOk(tried.includes(e), `never repeats a tried endpoint (${e.id})`);
      tried.push(e);
    }
    t.same(tried.map((e) => e.id).sort(), ['eu-0', 'us-0', 'us-1'], 'exhausts exactly the endpoints serving the model');
    t.equal(picker.pick(req('unknown-model-with-no-star', [], ['ap'])), undefined, 'undefined when none can take it');
  });
}
