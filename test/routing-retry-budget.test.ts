import t from 'tap';
import { RetryBudget } from '../src/routing/retry-budget.js';
import { FakeClock } from '../src/util/fake-clock.js';
import { retryBudgetOptions } from './helpers/config-sections.js';

t.test('a burst of in-flight requests caught by one region dying all fail over', async (t) => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ clock, ...retryBudgetOptions() });
  // Steady, healthy traffic first: 20 req/s for a minute, no failures.
  for (let s = 0; s < 60; s++) {
    for (let i = 0; i < 20; i++) budget.deposit();
    clock.tick(1000);
  }
  // 8 requests in flight when their region dies: every one asks for a retry at once. Envoy's
  // concurrency budget (20% of 8 active, min 3) would grant 3 and fail 5.
  for (let i = 0; i < 8; i++) budget.deposit();
  const granted = Array.from({ length: 8 }, () => budget.tryWithdraw()).filter(Boolean).length;
  t.equal(granted, 8, 'all 8 retries granted');
});

t.test('sustained 100% failure cannot push retries above percent + floor', async (t) => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ clock, ...retryBudgetOptions() });
  let requests = 0;
  let retries = 0;
  for (let ms = 0; ms < 60_000; ms++) {
    budget.deposit(); // 1000 requests per second, each fails and wants up to 3 retries
    requests++;
    for (let k = 0; k < 3 && budget.tryWithdraw(); k++) retries++;
    clock.tick(1);
  }
  const ratio = retries / requests;
  // Per 10 s window: 20% of 10 000 requests + a floor of 100 retries = 2 100 (21%).
  t.ok(ratio >= 0.2 && ratio <= 0.22, `retries are ${(ratio * 100).toFixed(2)}% of requests`);
});

t.test('without a floor the budget is exactly percent of deposits', async (t) => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ clock, ...retryBudgetOptions({ minRetriesPerSec: 0, percent: 20 }) });
  t.equal(budget.tryWithdraw(), false, 'nothing deposited, no reserve');
  for (let i = 0; i < 10; i++) budget.deposit();
  t.equal(budget.balance(), 2);
  t.equal(budget.tryWithdraw(), true);
  t.equal(budget.tryWithdraw(), true);
  t.equal(budget.tryWithdraw(), false, '10 requests buy 2 retries');
});

t.test('the window slides: deposits expire after ttl', async (t) => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ clock, ...retryBudgetOptions({ minRetriesPerSec: 0, ttl: 10_000, buckets: 10 }) });
  for (let i = 0; i < 50; i++) budget.deposit();
  t.equal(budget.balance(), 10);
  clock.tick(8_999);
  t.equal(budget.balance(), 10, 'still there within ttl - ttl/buckets');
  clock.tick(1_001);
  t.equal(budget.balance(), 0, 'gone after ttl');
  t.equal(budget.tryWithdraw(), false);
});

t.test('the window slides: spent retries come back after ttl', async (t) => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ clock, ...retryBudgetOptions({ minRetriesPerSec: 1, ttl: 10_000 }) });
  let granted = 0;
  while (budget.tryWithdraw()) granted++;
  t.equal(granted, 10, 'the floor: 1 retry/s × 10 s');
  clock.tick(5_000);
  t.equal(budget.tryWithdraw(), false, 'still spent mid-window');
  clock.tick(5_000);
  t.equal(budget.balance(), 10, 'recovered a ttl later');
  clock.tick(120_000);
  t.equal(budget.balance(), 10, 'a long idle gap clears the whole ring');
});

t.test('rejects bad options', async (t) => {
  const clock = new FakeClock();
  t.throws(() => new RetryBudget({ clock, ...retryBudgetOptions({ ttl: 0 }) }), RangeError);
  t.throws(() => new RetryBudget({ clock, ...retryBudgetOptions({ percent: -1 }) }), RangeError);
  t.throws(() => new RetryBudget({ clock, ...retryBudgetOptions({ minRetriesPerSec: -1 }) }), RangeError);
  t.throws(() => new RetryBudget({ clock, ...retryBudgetOptions({ buckets: 0 }) }), RangeError);
});

t.test('configure (a reload): percent and floor apply at once, the window is kept; a new ttl starts a new one', async (t) => {
  const clock = new FakeClock();
  const budget = new RetryBudget({ clock, ...retryBudgetOptions({ ttl: 10_000, percent: 20, minRetriesPerSec: 0 }) });
  for (let i = 0; i < 50; i++) budget.deposit();
  t.equal(budget.balance(), 10, '20 % of 50 requests');
  budget.configure(retryBudgetOptions({ ttl: 10_000, percent: 50, minRetriesPerSec: 1 }));
  t.equal(budget.balance(), 20, 'the deposits kept (10) plus the new floor (1/s over 10 s)');
  for (let i = 0; i < 10; i++) budget.deposit();
  t.equal(budget.balance(), 25, 'new requests earn 50 %');
  budget.configure(retryBudgetOptions({ ttl: 2000, percent: 50, minRetriesPerSec: 1 }));
  t.equal(budget.balance(), 2, 'a new window: only the floor over 2 s');
  clock.tick(1000);
  budget.deposit();
  budget.deposit();
  t.equal(budget.balance(), 3);
  clock.tick(2000);
  t.equal(budget.balance(), 2, 'deposits expire after the new ttl');
  t.throws(() => budget.configure(retryBudgetOptions({ ttl: 0 })), RangeError);
});
