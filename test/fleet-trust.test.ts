/**
 * Fleet trust across real processes: gateways spawned from the built `dist/cli.js` (run `npm run build`
 * first) on a redis-server spawned for this file, sharing `state.secret`. Guards against the attack
 * found on main: forged `drained`/`drill`/`ejected` messages claiming made-up gateway ids, with expiries
 * far in the future, drained every gateway (also one started afterwards) until someone cleaned Redis.
 * Also: an operator drain outlives a restart of the gateway that made it, and is seen by the others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import t from 'tap';
import { request } from 'undici';
import { FleetEventSource, recordKey } from '../src/state/fleet-event.js';
import { FleetSigner } from '../src/state/fleet-signer.js';
import { FleetCodec } from '../src/state/fleet-wire.js';
import { systemClock } from '../src/util/clock.js';
import { startSim, type Teardown } from './helpers/gateway.js';
import { REDIS_SKIP, startRedisServer, waitUntil } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const SECRET = 'fleet-trust-test-secret-0123456789';
const PREFIX = 'rg-trust:';
const FAR = 10 * 365 * 24 * 3_600_000; // main's attack: ten years ahead

interface Spawned {
  readonly url: string;
  readonly admin: string;
  readonly child: ChildProcess;
  stderr: string;
}

/** `regiongate start` from dist/cli.js; resolves once it says where it listens. */
async function startCli(t: Teardown, config: string): Promise<Spawned> {
  const child = spawn(process.execPath, [CLI, 'start', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const out = { stderr: '' };
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out.stderr}`)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      out.stderr += d;
      const m = / listening on (http:\/\/\S+), admin on (http:\/\/[^\s",]+)/.exec(out.stderr);
      if (m) resolve(Object.assign(out, { url: m[1]!, admin: m[2]!, child }));
    });
  });
}

async function stop(g: Spawned): Promise<void> {
  if (g.child.exitCode !== null) return;
  const exited = new Promise((r) => g.child.once('exit', r));
  g.child.kill('SIGTERM');
  await exited;
}

async function readyz(g: Spawned): Promise<number> {
  const res = await request(`${g.url}/readyz`);
  await res.body.dump();
  return res.statusCode;
}

interface AdminState {
  store: { rejected: number; malformed: number; signed: boolean; lastSyncAt?: number };
  fleet: { trust: string; intents: { kind: string; endpointId: string; by: string; reason: string }[] };
  endpoints: { id: string; state: string; until?: number }[];
}

async function state(g: Spawned): Promise<AdminState> {
  const res = await request(`${g.admin}/admin/state`);
  return (await res.body.json()) as AdminState;
}

const endpointState = async (g: Spawned, id: string) => (await state(g)).endpoints.find((e) => e.id === id)?.state;

/** One more completed snapshot load on `g` after now (each store re-reads the snapshot every 200 ms). */
async function nextSync(g: Spawned, loads = 1): Promise<void> {
  for (let i = 0; i < loads; i++) {
    const before = (await state(g)).store.lastSyncAt ?? 0;
    await waitUntil('a snapshot load', async () => ((await state(g)).store.lastSyncAt ?? 0) > before, 5000);
  }
}

t.test('forged fleet messages do not drain a signed fleet; operator drains are durable', { skip: REDIS_SKIP || (!existsSync(CLI) && 'run npm run build first'), timeout: 240_000 }, async (t) => {
  const redis = await startRedisServer(t);
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  const dir = mkdtempSync(join(tmpdir(), 'regiongate-trust-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = (id: string): string => {
    const file = join(dir, `${id}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        gatewayId: id,
        listen: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        log: { level: 'warn' },
        health: { probes: false },
        state: { store: 'redis', secret: SECRET, refreshInterval: '200ms', redis: { url: redis.url, keyPrefix: PREFIX }, trust: { maxRemoteTtl: '5s' } },
        regions: [
          { name: 'a', endpoints: [{ url: a.url, models: ['m'] }] },
          { name: 'b', endpoints: [{ url: b.url, models: ['m'] }] },
        ],
      }),
    );
    return file;
  };
  const g1 = await startCli(t, config('g1'));
  const g2 = await startCli(t, config('g2'));
  const raw = new Redis(redis.url, { lazyConnect: true });
  raw.on('error', () => {});
  await raw.connect();
  t.teardown(() => raw.disconnect());

  // Main's attack, word for word (absolute far-future expiries, made-up ids), and the same in the new
  // wire format without a signature, published and written into the snapshot.
  const now = Date.now();
  let forged = 0;
  for (const type of ['drained', 'drill', 'ejected'])
    for (const gatewayId of ['ghost-1', 'ghost-2'])
      for (const endpointId of ['a-0', 'b-0']) {
        const old = { v: 1, type, gatewayId, endpointId, cause: 'operator', at: now, expiresAt: now + FAR, seq: 1 };
        const unsigned = { v: 2, type, gatewayId, endpointId, cause: 'operator', at: now, ttl: 86_400_000, seq: 1 };
        await raw.publish(`${PREFIX}events`, JSON.stringify(old));
        await raw.publish(`${PREFIX}events`, JSON.stringify(unsigned));
        await raw.hset(`${PREFIX}snapshot`, JSON.stringify([endpointId, gatewayId, type === 'ejected' ? 'ejection' : type === 'drill' ? 'drill' : 'drain']), JSON.stringify(old));
        await raw.hset(`${PREFIX}snapshot`, JSON.stringify([endpointId, type === 'drill' ? 'drill' : 'drain']), `0 ${JSON.stringify(unsigned)}`);
        forged++;
      }
  for (const g of [g1, g2]) {
    await waitUntil('the forged messages to be counted as dropped', async () => (await state(g)).store.rejected >= forged, 5000);
    await nextSync(g, 2);
  }
  for (const g of [g1, g2]) {
    t.equal(await readyz(g), 200, '/readyz stays 200');
    const s = await state(g);
    t.same(s.endpoints.map((e) => e.state), ['healthy', 'healthy'], 'no endpoint drained or ejected');
    t.ok(s.store.signed && s.fleet.trust === 'signed');
    t.ok(s.store.rejected + s.store.malformed >= 2 * forged, `forged messages counted: ${s.store.rejected} rejected, ${s.store.malformed} malformed`);
  }
  const g3 = await startCli(t, config('g3'));
  await nextSync(g3, 2);
  t.equal(await readyz(g3), 200, 'a gateway started afterwards is ready too');
  t.same((await state(g3)).endpoints.map((e) => e.state), ['healthy', 'healthy']);

  // A validly signed report with a far-future lifetime is believed for maxRemoteTtl (5 s) at most.
  const codec = new FleetCodec(new FleetSigner(SECRET), systemClock);
  const long = new FleetEventSource('g-peer', systemClock).create('rate_limited', 'a-0', 'rate_limited', 86_400_000);
  // Written as a peer gateway would (snapshot entry with the server's deadline, and the message).
  const [secs] = (await raw.time()) as [number | string, number | string];
  await raw.hset(`${PREFIX}snapshot`, recordKey(long), `${Number(secs) * 1000 + 86_400_000} ${codec.encode(long).raw}`);
  await raw.publish(`${PREFIX}events`, codec.encode(long).raw);
  await waitUntil('the signed report to apply', async () => (await endpointState(g2, 'a-0')) === 'rate_limited', 5000);
  const until = (await state(g2)).endpoints.find((e) => e.id === 'a-0')?.until ?? Infinity;
  t.ok(until <= Date.now() + 5_000, `its expiry is capped: ${until - Date.now()} ms left`);
  await raw.hdel(`${PREFIX}snapshot`, recordKey(long)); // its gateway stops asserting it
  await waitUntil('the report to lapse', async () => (await endpointState(g2, 'a-0')) === 'healthy', 8000);
  // Every gateway received it; the drain below must not strand model m on a gateway where a-0 is still out.
  await waitUntil('the report to lapse on g1', async () => (await endpointState(g1, 'a-0')) === 'healthy', 8000);

  // An operator drain on g1 reaches g2 and g3, and survives g1's restart.
  const drain = await request(`${g1.admin}/admin/endpoints/b-0/drain`, { method: 'POST', body: '{"reason":"maintenance"}', headers: { 'content-type': 'application/json', 'x-regiongate-admin': '1' } });
  t.same(await drain.body.json(), { action: 'drain', endpoints: ['b-0'] });
  for (const g of [g2, g3]) await waitUntil('the drain to reach the others', async () => (await endpointState(g, 'b-0')) === 'drained', 5000);
  await stop(g1);
  const again = await startCli(t, config('g1'));
  await nextSync(again, 3);
  await nextSync(g2, 3);
  t.equal(await endpointState(again, 'b-0'), 'drained', 'the restarted maker applies its own drain');
  t.equal(await endpointState(g2, 'b-0'), 'drained', 'the others keep it after the maker restarted');
  t.match((await state(g2)).fleet.intents, [{ kind: 'drain', endpointId: 'b-0', by: 'g1', reason: 'maintenance' }]);

  // The last routable endpoint of model m is not drained unless forced.
  const refused = await request(`${g2.admin}/admin/endpoints/a-0/drain`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.equal(refused.statusCode, 409);
  t.match(await refused.body.json(), { error: { code: 'RG_ADMIN_STRANDS_MODEL', models: ['m'] } });

  // An undrain on g2 lifts it everywhere.
  const undrain = await request(`${g2.admin}/admin/endpoints/b-0/undrain`, { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  await undrain.body.dump();
  for (const g of [again, g2, g3]) await waitUntil('the undrain to reach every gateway', async () => (await endpointState(g, 'b-0')) !== 'drained', 5000);
  await nextSync(g3, 2);
  t.not(await endpointState(g3, 'b-0'), 'drained', 'and it stays lifted');
  await Promise.all([stop(again), stop(g2), stop(g3)]);
});
