/**
 * Fleet events on the wire: whatever arrives is either a clean, signed event or dropped, never a
 * crash; lifetimes are relative and bounded; plus record keys and the event source.
 */
import t from 'tap';
import { FleetEventSource, MAX_EVENT_BYTES, recordKey, toFleetEvent } from '../src/state/fleet-event.js';
import { FleetSigner } from '../src/state/fleet-signer.js';
import { FleetCodec, MAX_REPORT_TTL_MS } from '../src/state/fleet-wire.js';
import { FakeClock } from '../src/util/fake-clock.js';

const SECRET = 'a-fleet-secret-of-some-length';
const clock = new FakeClock();
const codec = new FleetCodec(new FleetSigner(SECRET), clock);
const good = new FleetEventSource('gw-a', clock).create('ejected', 'ep-1', 'consecutive_5xx', 1000);
const wire = (): Record<string, unknown> => JSON.parse(codec.encode(good).raw) as Record<string, unknown>;

t.test('a valid event round-trips, from a string or a Buffer, keeping only known keys', async (t) => {
  const { raw, ttl } = codec.encode(good);
  t.equal(ttl, 1000, 'the wire carries a lifetime, not an absolute expiry');
  t.notOk('expiresAt' in (JSON.parse(raw) as object));
  t.same(codec.decode(raw), { event: good });
  t.same(codec.decode(Buffer.from(raw)), { event: good });
  const withExtra = codec.decode(JSON.stringify({ ...wire(), extra: 'x', __proto__: { bad: 1 } }));
  t.same(Object.keys('event' in withExtra ? withExtra.event : {}).sort(), ['at', 'cause', 'endpointId', 'expiresAt', 'gatewayId', 'seq', 'type', 'v']);
});

t.test('malformed input is dropped without throwing', async (t) => {
  const w = wire();
  const bad: unknown[] = [
    undefined, null, 42, {}, [], 'null', '{', '[]', '"x"', 'true',
    JSON.stringify({ ...w, v: 1 }),
    JSON.stringify({ ...w, type: 'EJECTED' }),
    // Never published by any version: an open breaker travels as `ejected` with cause `breaker_open`.
    JSON.stringify({ ...w, type: 'breaker_open' }),
    JSON.stringify({ ...w, gatewayId: 7 }),
    JSON.stringify({ ...w, endpointId: 'e'.repeat(129) }),
    JSON.stringify({ ...w, cause: null }),
    JSON.stringify({ ...w, at: -1 }),
    JSON.stringify({ ...w, ttl: 1e400 }),
    JSON.stringify({ ...w, ttl: -5 }),
    JSON.stringify({ ...w, ttl: 0 }),
    JSON.stringify({ ...w, ttl: MAX_REPORT_TTL_MS + 1 }),
    JSON.stringify({ ...w, seq: 1.5 }),
    JSON.stringify({ ...w, cause: 'c'.repeat(MAX_EVENT_BYTES) }),
    ' '.repeat(MAX_EVENT_BYTES + 1),
  ];
  for (const raw of bad) t.same(codec.decode(raw), { failure: 'malformed' }, `drops ${String(raw).slice(0, 40)}`);
  t.equal(toFleetEvent(Object.create(null)), undefined);
});

t.test('forged fleet messages: unsigned, wrongly signed or altered ones are rejected', async (t) => {
  const w = wire();
  const { sig: _sig, ...unsigned } = w;
  const other = new FleetCodec(new FleetSigner('another-secret-entirely'), clock).encode(good).raw;
  const cases: [string, unknown][] = [
    ['no signature', JSON.stringify(unsigned)],
    ['signed with another secret', other],
    ['a longer lifetime', JSON.stringify({ ...w, ttl: 600_000 })],
    ['another gateway id', JSON.stringify({ ...w, gatewayId: 'made-up-gw' })],
    ['another endpoint', JSON.stringify({ ...w, endpointId: 'ep-2' })],
    ['another type', JSON.stringify({ ...w, type: 'drained' })],
    ['a signature of the wrong shape', JSON.stringify({ ...w, sig: 'x' })],
  ];
  for (const [what, raw] of cases) t.same(codec.decode(raw), { failure: 'rejected' }, what);
  const open = new FleetCodec(new FleetSigner(undefined), clock);
  t.notOk(open.signed);
  t.ok('event' in open.decode(JSON.stringify(unsigned)), 'without a secret every writer is trusted');
});

t.test('expiry is the receiver\'s clock plus the lifetime, bounded by what the store says is left', async (t) => {
  const sender = new FakeClock(10_000_000_000); // a sender's clock far ahead of ours
  const theirs = new FleetCodec(new FleetSigner(SECRET), sender);
  const ev = new FleetEventSource('gw-far', sender).create('ejected', 'ep-1', 'x', 5_000);
  const ours = new FleetCodec(new FleetSigner(SECRET), new FakeClock(1_000));
  const { raw } = theirs.encode(ev);
  const n = ours.decode(raw);
  t.equal('event' in n && n.event.expiresAt, 6_000, 'now + ttl, whatever the sender\'s clock');
  const d = ours.decode(raw, 200);
  t.equal('event' in d && d.event.expiresAt, 1_200, 'a stored entry lives only what the store\'s clock leaves it');
  const e = ours.decode(raw, 99_999);
  t.equal('event' in e && e.event.expiresAt, 6_000, 'never longer than its signed lifetime');
});

t.test('record keys: one per (endpoint, gateway, class), unambiguous', async (t) => {
  const src = new FleetEventSource('gw-a', clock);
  t.equal(recordKey(src.create('ejected', 'ep-1', 'x', 1)), recordKey(src.create('recovered', 'ep-1', 'x', 1)));
  t.not(recordKey(src.create('ejected', 'ep-1', 'x', 1)), recordKey(src.create('rate_limited', 'ep-1', 'x', 1)));
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
