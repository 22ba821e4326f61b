// The attempt plan on simulated time: the request deadline, hedging (when, how often, only for
// replayable requests, never after the commit), the attempt limit and the retry budget (free retries
// take nothing from it). No sockets: a fake picker and a real RetryBudget on the same FakeClock.
import t from 'tap';
import type { Endpoint } from '../src/registry/endpoint.js';
import { AttemptPlan, type AttemptPlanOptions, type PlanOwner } from '../src/routing/attempt-plan.js';
import type { Picker } from '../src/routing/picker.js';
import { RetryBudget } from '../src/routing/retry-budget.js';
import { DEFAULT_RETRY_POLICY } from '../src/routing/retry-policy.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { retryBudgetOptions } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

const endpoints = [testEndpoint('eu-0'), testEndpoint('us-0', { region: 'us' }), testEndpoint('ap-0', { region: 'ap' })];

/** The first endpoint not yet tried. */
const inOrder: Picker = {
  pick: (req) => endpoints.find((e) => !req.tried.includes(e)),
  routable: () => true,
};

const chat = { method: 'POST', path: '/v1/chat/completions', idempotencyKey: false };
const upload = { method: 'POST', path: '/v1/files', idempotencyKey: false };

function setup(options: Partial<AttemptPlanOptions> = {}, request = chat, budget?: { minRetriesPerSec: number }) {
  const clock = new FakeClock();
  const retryGate = budget === undefined ? undefined : new RetryBudget({ clock, ...retryBudgetOptions(budget) });
  const events: string[] = [];
  const owner: PlanOwner & { tried: Endpoint[] } = {
    model: undefined,
    regions: undefined,
    tried: [],
    deadlinePassed: () => events.push(`deadline@${clock.monotonic() - start}`),
    hedge: (e) => {
      events.push(`hedge ${e.id}@${clock.monotonic() - start}`);
      owner.tried.push(e);
      plan.launched();
    },
  };
  const start = clock.monotonic();
  const plan = new AttemptPlan(
    { clock, picker: inOrder, retryGate, options: { attempts: 3, requestTimeout: 10_000, hedgeAfter: 0, maxHedges: 1, retryPolicy: DEFAULT_RETRY_POLICY, ...options } },
    owner,
    request,
  );
  /** Start the request and send its first attempt, as the exchange does. */
  const begin = (): Endpoint | undefined => {
    const first = plan.start();
    if (first !== undefined) {
      owner.tried.push(first);
      plan.launched();
    }
    return first;
  };
  return { clock, plan, owner, events, begin, retryGate };
}

t.test('the deadline fires once, at requestTimeout, and stops further retries', async (t) => {
  const { clock, plan, events, begin } = setup({ requestTimeout: 5000 });
  t.equal(begin()?.id, 'eu-0');
  clock.tick(4999);
  t.same(events, []);
  clock.tick(1);
  t.same(events, ['deadline@5000']);
  t.equal(plan.next('free'), undefined, 'no retry past the deadline');
  clock.tick(60_000);
  t.same(events, ['deadline@5000'], 'fired once');
  plan.close();
  t.equal(clock.pending, 0);
});

t.test('close stops every timer', async (t) => {
  const { clock, plan, events, begin } = setup({ hedgeAfter: 100 });
  begin();
  t.equal(clock.pending, 2, 'deadline and hedge armed');
  plan.close();
  t.equal(clock.pending, 0);
  clock.tick(60_000);
  t.same(events, []);
});

t.test('a hedge starts hedgeAfter ms after the attempt, on the next endpoint, up to maxHedges', async (t) => {
  const { clock, plan, events, begin } = setup({ hedgeAfter: 200, maxHedges: 1 });
  begin();
  clock.tick(199);
  t.same(events, []);
  clock.tick(1);
  t.same(events, ['hedge us-0@200']);
  clock.tick(1000);
  t.same(events, ['hedge us-0@200'], 'one hedge by default');
  plan.close();
});

t.test('maxHedges 2: each hedge re-arms the timer, within the attempt limit', async (t) => {
  const { clock, plan, events, begin } = setup({ hedgeAfter: 200, maxHedges: 2, attempts: 3 });
  begin();
  clock.tick(1000);
  t.same(events, ['hedge us-0@200', 'hedge ap-0@400']);
  plan.close();
});

t.test('the attempt limit bounds hedges too', async (t) => {
  const { clock, plan, events, begin } = setup({ hedgeAfter: 200, maxHedges: 3, attempts: 2 });
  begin();
  clock.tick(1000);
  t.same(events, ['hedge us-0@200']);
  plan.close();
});

t.test('no hedge for a request that may not run twice, nor after the commit', async (t) => {
  const once = setup({ hedgeAfter: 200 }, upload);
  once.begin();
  t.equal(once.plan.replayable, false);
  once.clock.tick(1000);
  t.same(once.events, [], 'POST /v1/files is not hedged');
  once.plan.close();

  const committed = setup({ hedgeAfter: 200 });
  committed.begin();
  committed.clock.tick(100);
  committed.plan.commit();
  committed.clock.tick(1000);
  t.same(committed.events, [], 'an answer is committed: no hedge');
  t.equal(committed.clock.pending, 1, 'the deadline still runs after the commit');
  committed.plan.close();
});

t.test('a hedge takes from the retry budget and is skipped when it is spent', async (t) => {
  const { clock, plan, events, begin, retryGate } = setup({ hedgeAfter: 200 }, chat, { minRetriesPerSec: 0 });
  begin(); // one deposit: 0.2 of a retry
  clock.tick(1000);
  t.same(events, [], 'no budget, no hedge');
  t.equal(retryGate?.balance(), 0);
  plan.close();
});

t.test('retries: replay rules, the attempt limit, and the budget (free retries cost nothing)', async (t) => {
  const { plan, owner, begin, retryGate } = setup({ attempts: 3 }, chat, { minRetriesPerSec: 0 });
  begin();
  t.equal(plan.retriesStatus(503), true, 'a replayable request retries a 503');
  t.equal(plan.retriesStatus(400), false);
  t.equal(plan.retriesFailure('replay'), true);
  t.equal(plan.next('replay'), undefined, 'the budget is empty');
  t.equal(plan.budgetDenied, true);
  const free = plan.next('free');
  t.equal(free?.id, 'us-0', 'connect refused: retried even with an empty budget');
  t.equal(retryGate?.balance(), 0, 'and nothing was taken');
  owner.tried.push(free as Endpoint);
  owner.tried.push(endpoints[2] as Endpoint);
  t.equal(plan.next('free'), undefined, 'three attempts made: none more');
  plan.commit();
  t.equal(plan.retriesStatus(503), false, 'never after the commit');
  t.equal(plan.retriesFailure('free'), false);
  plan.close();
});

t.test('a request that may not run twice retries only failures that never left the gateway', async (t) => {
  const { plan, begin } = setup({}, upload);
  begin();
  t.equal(plan.retriesStatus(503), false);
  t.equal(plan.retriesFailure('replay'), false);
  t.equal(plan.retriesFailure('free'), true);
  t.equal(plan.retriesFailure('never'), false);
  plan.close();
});
