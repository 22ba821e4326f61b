/**
 * FleetEvent validation: whatever arrives from the wire is either a clean event or rejected, never a
 * crash; plus record keys and the event source.
 */
import t from 'tap';
import { FleetEventSource, MAX_EVENT_BYTES, parseFleetEvent, recordKey, toFleetEvent } from '../src/state/fleet-event.js';
import { FakeClock } from '../src/util/fake-clock.js';

const clock = new FakeClock();
const good = new FleetEventSource('gw-a', clock).create('ejected', 'ep-1', 'consecutive_5xx', 1000);

t.test('a valid event round-trips, from a string or a Buffer, keeping only known keys', async (t) => {
  t.same(parseFleetEvent(JSON.stringify(good)), good);
  t.same(parseFleetEvent(Buffer.from(JSON.stringify(good))), good);
  const withExtra = parseFleetEvent(JSON.stringify({ ...good, extra: 'x', __proto__: { bad: 1 } }));
  t.same(Object.keys(withExtra ?? {}).sort(), ['at', 'cause', 'endpointId', 'expiresAt', 'gatewayId', 'seq', 'type', 'v']);
});

t.test('malformed input is rejected without throwing', async (t) => {
  const bad: unknown[] = [
    undefined, null, 42, {}, [], 'null', '{', '[]', '"x"', 'true',
    JSON.stringify({ ...good, v: '1' }),
    JSON.stringify({ ...good, type: 'EJECTED' }),
    JSON.stringify({ ...good, gatewayId: 7 }),
    JSON.stringify({ ...good, endpointId: 'e'.repeat(257) }),
    JSON.stringify({ ...good, cause: null }),
    JSON.stringify({ ...good, at: -1 }),
    JSON.stringify({ ...good, expiresAt: 1e400 }),
    JSON.stringify({ ...good, seq: 1.5 }),
    JSON.stringify({ ...good, cause: 'c'.repeat(MAX_EVENT_BYTES) }),
    ' '.repeat(MAX_EVENT_BYTES + 1),
  ];
  for (const raw of bad) t.equal(parseFleetEvent(raw), undefined, `rejects ${String(raw).slice(0, 40)}`);
  t.equal(toFleetEvent(Object.create(null)), undefined);
});

t.test('record keys: one per (endpoint, gateway, class), unambiguous', async (t) => {
  const src = new FleetEventSource('gw-a', clock);
  t.equal(recordKey(src.create('ejected', 'ep-1', 'x', 1)), recordKey(src.create('recovered', 'ep-1', 'x', 1)));
  t.not(recordKey(src.create('ejected', 'ep-1', 'x', 1)), recordKey(src.create('breaker_open', 'ep-1', 'x', 1)));
  t.not(recordKey({ endpointId: 'a","b', gatewayId: 'c', type: 'drill' }), recordKey({ endpointId: 'a', gatewayId: 'b","c', type: 'drill' }));
});

t.test('FleetEventSource stamps the clock and a growing sequence', async (t) => {
  const c = new FakeClock(5_000);
  const src = new FleetEventSource('gw-b', c);
  const e1 = src.create('drained', 'ep-1', 'operator', 100);
  c.tick(10);
  const e2 = src.create('undrained', 'ep-1', 'operator', 100);
  t.same([e1.at, e1.expiresAt, e1.seq, e2.at, e2.seq], [5_000, 5_100, 1, 5_010, 2]);
});
