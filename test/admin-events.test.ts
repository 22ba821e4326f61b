/**
 * `GET /admin/events`: the dashboard's server-sent events, read by a real HTTP client. Refused without
 * the token; a snapshot at once and at the cadence, timeline entries as they happen, heartbeats; a cap
 * on concurrent streams; every stream ended by admin close and by the gateway's drain; a reader that does
 * not read gets events skipped, not buffered, and is cut.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { AdminServer, type AdminTarget } from '../src/admin/admin-server.js';
import { EventStream } from '../src/admin/event-stream.js';
import { Timeline } from '../src/admin/timeline.js';
import { systemClock } from '../src/util/clock.js';
import { startGateway, startSim, type Teardown } from './helpers/gateway.js';
import { openSse, type SseEvent } from './helpers/sse.js';
import { until, within } from './helpers/wait.js';

const TOKEN = 'events-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

async function adminServer(t: Teardown, events: ConstructorParameters<typeof AdminServer>[1]['events'] = {}) {
  const timeline = new Timeline(3);
  let ticks = 0;
  const target: AdminTarget = {
    state: () => ({ gatewayId: 'g' }),
    dashboard: () => ({ tick: ++ticks, timeline: timeline.entries() }),
    timeline,
    metrics: () => '',
    act: () => [],
  };
  const admin = new AdminServer(target, { host: '127.0.0.1', token: TOKEN, events: { intervalMs: 50, heartbeatMs: 50, ...events } });
  await admin.listen(0, '127.0.0.1');
  t.teardown(() => admin.close());
  return { admin, timeline, url: `${admin.url}/admin/events` };
}

const snapshotTick = (e: SseEvent): number => (e.event === 'snapshot' ? (e.data as { tick: number }).tick : 0);

t.test('refused without the token, and with a wrong one', async (t) => {
  const { url } = await adminServer(t);
  const refused: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789' }];
  for (const headers of refused) {
    const r = await openSse(url, headers);
    await r.ended;
    t.equal(r.status, 401);
    t.match(r.events[0], { event: 'error', data: { error: { code: 'RG_ADMIN_UNAUTHORIZED' } } });
  }
});

t.test('a snapshot at once and at the cadence, timeline entries as they happen, heartbeats', async (t) => {
  const { url, timeline } = await adminServer(t);
  const r = await openSse(url, auth);
  t.teardown(() => r.close());
  t.equal(r.status, 200);
  t.equal(r.res.headers['content-type'], 'text/event-stream; charset=utf-8');
  t.equal(r.res.headers['cache-control'], 'no-store');
  await r.next('the first snapshot', (e) => snapshotTick(e) === 1);
  await r.next('a later snapshot', (e) => snapshotTick(e) >= 3);
  timeline.add({ at: 1, kind: 'action', subject: 'a', text: 'drain by operator' });
  const pushed = await r.next('the timeline entry', (e) => e.event === 'timeline');
  t.same(pushed.data, { at: 1, kind: 'action', subject: 'a', text: 'drain by operator' });
  await until('a heartbeat', () => r.comments > 0);
  t.pass('heartbeat comment lines arrive');
});

t.test('at most maxClients streams; a closed one frees its place', async (t) => {
  const { admin, url } = await adminServer(t, { maxClients: 2 });
  const a = await openSse(url, auth);
  const b = await openSse(url, auth);
  t.teardown(() => (a.close(), b.close()));
  t.equal(a.status, 200);
  t.equal(b.status, 200);
  const c = await openSse(url, auth);
  await c.ended;
  t.equal(c.status, 503, 'the third is refused');
  t.match(c.events[0], { data: { error: { code: 'RG_ADMIN_UNAVAILABLE', message: /too many event streams \(at most 2\)/ } } });
  a.close();
  await until('the server sees the stream closed', () => admin.streams === 1);
  const d = await openSse(url, auth);
  t.teardown(() => d.close());
  t.equal(d.status, 200, 'a place is free again');
});

t.test('admin close ends every stream', async (t) => {
  const { admin, url } = await adminServer(t);
  const a = await openSse(url, auth);
  const b = await openSse(url, auth);
  await a.next('a snapshot', (e) => e.event === 'snapshot');
  await admin.close();
  await within('both streams to end', Promise.all([a.ended, b.ended]));
  t.equal(admin.streams, 0);
});

t.test('a gateway streams its combined snapshot, and its drain ends the stream', async (t) => {
  const sa = await startSim(t, { name: 'a' });
  const sb = await startSim(t, { name: 'b' });
  const gw = await startGateway(t, [{ name: 'a', url: sa.url }, { name: 'b', url: sb.url }], {
    admin: { host: '127.0.0.1', port: 0, enabled: true, token: TOKEN },
    health: { probes: false },
  });
  const r = await openSse(`${gw.admin!.url}/admin/events`, auth);
  const first = await r.next('a snapshot', (e) => e.event === 'snapshot');
  const s = first.data as { state: { gatewayId: string; endpoints: unknown[] }; fleet: { gateways: unknown[] }; providers: Record<string, string>; timeline: unknown[]; shares: unknown[]; drills: unknown };
  t.equal(s.state.gatewayId, gw.gatewayId);
  t.equal(s.state.endpoints.length, 2);
  t.equal(s.fleet.gateways.length, 1);
  t.same(s.providers, { a: 'unknown', b: 'unknown' });
  t.ok(Array.isArray(s.timeline) && Array.isArray(s.shares));
  // An operator action is a timeline entry, pushed as it happens.
  const drained = await request(`${gw.admin!.url}/admin/regions/a/drain`, { method: 'POST', headers: auth });
  t.equal(drained.statusCode, 200);
  await drained.body.dump();
  const entry = await r.next('the drain in the timeline', (e) => e.event === 'timeline' && (e.data as { kind: string }).kind === 'action');
  t.match(entry.data, { kind: 'action', subject: 'a', text: 'drain by operator' });
  await r.next('the drained transition in the timeline', (e) => e.event === 'timeline' && /→ drained/.test((e.data as { text: string }).text));
  await gw.close(0, 0);
  await within('the stream to end with the drain', r.ended);
  t.pass('drain ended the stream');
});

t.test('a reader that does not read: events skipped, nothing queued, then cut', async (t) => {
  const big = 'x'.repeat(512 * 1024);
  const stream = new EventStream({ clock: systemClock, snapshot: () => ({ big }), intervalMs: 5, heartbeatMs: 60_000, maxBufferedBytes: 1024 * 1024, maxSkips: 5 });
  const server = createServer((req, res) => stream.open(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    stream.close();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const r = await openSse(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  t.teardown(() => r.close());
  r.res.pause(); // never reads again: kernel buffers fill, then the socket's own buffer
  // Seen from the server: a paused client's own stream may hold its close back while data is unread.
  await until('the slow reader to be cut', () => stream.clients === 0 && stream.skipped >= 5);
  t.ok(stream.skipped >= 5, `events were skipped (${stream.skipped}), not queued`);
});
