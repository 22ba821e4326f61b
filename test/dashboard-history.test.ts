/**
 * The dashboard's memory, on simulated time: the timeline is a bounded ring that tells its listeners
 * each entry; the traffic-share history samples the fleet totals on its interval, keeps a bounded number
 * of samples, and never shows negative traffic when counters go down (a gateway restarted or left);
 * the feed reads drills at most every `DRILL_READ_MS` and turns a new or changed drill into a timeline
 * entry.
 */
import t from 'tap';
import { DashboardFeed, DRILL_READ_MS } from '../src/admin/dashboard-feed.js';
import { Timeline } from '../src/admin/timeline.js';
import type { DrillRecord } from '../src/fleet/fleet-board.js';
import { ShareHistory, type RegionTotals } from '../src/fleet/share-history.js';
import { FakeClock } from '../src/util/fake-clock.js';

t.test('the timeline keeps the newest entries, oldest first, and tells listeners', (t) => {
  const timeline = new Timeline(3);
  const heard: string[] = [];
  const off = timeline.onEntry((e) => heard.push(e.text));
  for (let i = 1; i <= 5; i++) timeline.add({ at: i, kind: 'action', subject: 'a', text: `e${i}` });
  t.same(timeline.entries().map((e) => e.text), ['e3', 'e4', 'e5'], 'bounded: the oldest are overwritten');
  t.same(heard, ['e1', 'e2', 'e3', 'e4', 'e5']);
  off();
  timeline.add({ at: 6, kind: 'action', subject: 'a', text: 'e6' });
  t.equal(heard.length, 5, 'unsubscribed');
  t.end();
});

t.test('share history: deltas per interval, bounded, never negative', (t) => {
  const clock = new FakeClock();
  let totals: Record<string, RegionTotals> = { a: { attempts: 10, errors: 0 }, b: { attempts: 10, errors: 1 } };
  const history = new ShareHistory({ clock, intervalMs: 5000, size: 3, totals: () => totals });
  history.start();
  t.teardown(() => history.close());
  totals = { a: { attempts: 40, errors: 2 }, b: { attempts: 20, errors: 1 } };
  clock.tick(5000);
  t.same(history.samples().map((s) => s.regions), [{ a: { attempts: 30, errors: 2 }, b: { attempts: 10, errors: 0 } }]);
  // A gateway left the fleet: its counters no longer count in the totals.
  totals = { a: { attempts: 25, errors: 2 }, b: { attempts: 30, errors: 1 } };
  clock.tick(5000);
  t.same(history.samples()[1].regions, { a: { attempts: 0, errors: 0 }, b: { attempts: 10, errors: 0 } }, 'a drop is no traffic, not negative traffic');
  clock.tick(5000);
  clock.tick(5000);
  t.equal(history.samples().length, 3, 'at most size samples');
  t.equal(history.samples()[2].at, clock.now());
  history.close();
  clock.tick(5000);
  t.equal(history.samples()[2].at, clock.now() - 5000, 'closed: no more samples');
  t.end();
});

t.test('the feed reads drills at most every DRILL_READ_MS and puts new or changed ones on the timeline', async (t) => {
  const clock = new FakeClock();
  const timeline = new Timeline();
  let reads = 0;
  let drills: DrillRecord[] = [{ id: 'd1', region: 'a', startedAt: 1, status: 'pass' }];
  let providers: Record<string, string> = { a: 'aws' };
  const feed = new DashboardFeed({
    clock,
    state: () => ({}),
    fleet: () => ({}),
    drills: () => (reads++, Promise.resolve(drills)),
    timeline,
    shares: new ShareHistory({ clock, intervalMs: 1000, size: 1, totals: () => ({}) }),
    providers: () => providers,
  });
  const settle = () => new Promise((r) => setImmediate(r));
  t.match(feed.snapshot(), { drills: null, providers: { a: 'aws' } }, 'no drills before the first read');
  providers = { a: 'aws', b: 'gcp' };
  t.same((feed.snapshot() as { providers: unknown }).providers, { a: 'aws', b: 'gcp' }, 'providers are read at each snapshot (a reload may add a region)');
  await settle();
  t.match(feed.snapshot(), { drills: [{ id: 'd1' }] });
  t.equal(reads, 1, 'not read again within DRILL_READ_MS');
  t.equal(timeline.entries().length, 0, 'what was there at the first read is not news');
  drills = [{ id: 'd2', region: 'b', startedAt: 2, status: 'running' }, ...drills];
  clock.tick(DRILL_READ_MS);
  feed.snapshot();
  await settle();
  t.equal(reads, 2);
  drills = [{ ...drills[0], status: 'aborted' }, drills[1]];
  clock.tick(DRILL_READ_MS);
  feed.snapshot();
  await settle();
  t.same(timeline.entries().map((e) => [e.kind, e.subject, e.text]), [
    ['drill', 'b', 'drill d2 running'],
    ['drill', 'b', 'drill d2 aborted'],
  ]);
});
