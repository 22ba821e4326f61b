/**
 * `IpcBus` record books and claims, with the primary's side (`answerStoreCall` over `LocalRecords`) wired
 * in-process: workers share one record book and one set of claims; a call the primary never answers
 * ends at `STORE_CALL_TIMEOUT_MS` (on a fake clock) as "unreachable"; malformed calls are refused.
 * The real processes are in cluster.test.ts.
 */
import t from 'tap';
import { answerStoreCall, IpcBus, isIpcStoreCall, isIpcStoreReply, STORE_CALL_TIMEOUT_MS, type IpcStoreCall } from '../src/state/ipc-bus.js';
import { LocalRecords, MemoryStore } from '../src/state/memory-store.js';
import { FakeClock } from '../src/util/fake-clock.js';

function primary(clock: FakeClock) {
  const records = new LocalRecords();
  const workers: IpcBus[] = [];
  const worker = (): IpcBus => {
    const bus: IpcBus = new IpcBus((msg) => {
      // As cluster.ts: store calls are answered to their sender (asynchronously, like IPC).
      if (isIpcStoreCall(msg)) setImmediate(() => bus.receive(answerStoreCall(records, msg, clock.now())));
    }, clock);
    workers.push(bus);
    return bus;
  };
  return { worker };
}

t.test('workers share the primary\'s record books and claims', async (t) => {
  const clock = new FakeClock();
  const p = primary(clock);
  const stores = ['w1', 'w2'].map((gatewayId) => new MemoryStore({ gatewayId, clock, localEvents: () => [], bus: p.worker() }));
  for (const s of stores) await s.start();
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const [s1, s2] = stores;
  await s1!.exchangeRecords('fleet', { field: 'w1', ttl: 5000, raw: 'summary of w1' });
  const seen = await s2!.exchangeRecords('fleet', { field: 'w2', ttl: 5000, raw: 'summary of w2' });
  t.same(seen?.map((e) => [e.field, e.raw]).sort(), [['w1', 'summary of w1'], ['w2', 'summary of w2']], 'w2 reads what w1 wrote');
  t.same(await s1!.exchangeRecords('drills', undefined), [], 'books are separate');
  const won = await Promise.all([s1!.claim('drill:0:a:1', 60_000), s2!.claim('drill:0:a:1', 60_000)]);
  t.same(won.sort(), [false, true], 'exactly one worker takes a claim');
  clock.tick(5001);
  t.same(await s1!.exchangeRecords('fleet', undefined), [], 'records expire by the primary\'s clock');
  t.equal(await s2!.claim('drill:0:a:1', 60_000), false, 'a claim holds for its lifetime');
});

t.test('a call the primary does not answer ends at the timeout as unreachable; no timer is left', async (t) => {
  const clock = new FakeClock();
  const sent: IpcStoreCall[] = [];
  const bus = new IpcBus((msg) => void (isIpcStoreCall(msg) && sent.push(msg)), clock);
  const claim = bus.claim('k', 1000);
  const records = bus.exchangeRecords('load', undefined, clock.now(), 'w1');
  t.equal(sent.length, 2);
  clock.tick(STORE_CALL_TIMEOUT_MS);
  t.equal(await claim, undefined);
  t.equal(await records, undefined);
  t.equal(clock.pending, 0, 'the timers are cleared');
  // A late answer is ignored; an answer in time resolves the call it names.
  bus.receive({ rg: 'store-reply', id: sent[0]!.id, won: true });
  const again = bus.claim('k', 1000);
  bus.receive({ rg: 'store-reply', id: sent[2]!.id, won: true });
  t.equal(await again, true);
  t.equal(clock.pending, 0);
  const broken = new IpcBus(() => {
    throw new Error('channel closed');
  }, clock);
  t.equal(await broken.claim('k', 1000), undefined, 'a closed channel is unreachable at once');
});

t.test('the primary refuses malformed calls', async (t) => {
  for (const bad of [
    null,
    { rg: 'store-call', id: 1, op: 'claim', key: 'k', ttl: 0 },
    { rg: 'store-call', id: 1, op: 'claim', key: 7, ttl: 10 },
    { rg: 'store-call', id: 1.5, op: 'claim', key: 'k', ttl: 10 },
    { rg: 'store-call', id: 1, op: 'records', book: 'secrets', gatewayId: 'w1' },
    { rg: 'store-call', id: 1, op: 'records', book: 'fleet', gatewayId: 'w1', own: { field: 'f', ttl: -1, raw: 'x' } },
    { rg: 'store-call', id: 1, op: 'drop', book: 'fleet', gatewayId: 'w1' },
  ])
    t.notOk(isIpcStoreCall(bad), JSON.stringify(bad));
  t.ok(isIpcStoreCall({ rg: 'store-call', id: 1, op: 'records', book: 'fleet', gatewayId: 'w1', own: { field: 'f', ttl: 10, raw: 'x' } }));
  t.notOk(isIpcStoreReply({ rg: 'store-reply', id: 'x' }));
});
