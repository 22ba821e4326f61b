/**
 * CommandGate on a FakeClock: commands in flight are capped, and a stalled connection (timeouts with
 * no answer for `stallMs`) is reconnected once per stall period.
 */
import t from 'tap';
import { CommandGate } from '../src/state/command-gate.js';
import { FakeClock } from '../src/util/fake-clock.js';

function gate() {
  const clock = new FakeClock();
  const errors: string[] = [];
  let stalls = 0;
  const g = new CommandGate({ clock, maxInFlight: 3, stallMs: 1000, onError: (e) => errors.push(e), onStall: () => stalls++ });
  return { clock, g, errors, stalls: () => stalls };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('in-flight commands are counted and capped', async (t) => {
  const { g } = gate();
  const pending: (() => void)[] = [];
  for (let i = 0; i < 3; i++) g.send('publish', new Promise<void>((r) => pending.push(r)));
  t.equal(g.inFlight, 3);
  t.ok(g.full());
  pending.forEach((r) => r());
  await flush();
  t.equal(g.inFlight, 0);
  t.notOk(g.full());
});

t.test('timeouts after a silence longer than stallMs trigger one reconnect per period', async (t) => {
  const { clock, g, errors, stalls } = gate();
  const timeout = () => Promise.reject(new Error('Command timed out'));
  g.send('publish', timeout());
  await flush();
  t.equal(stalls(), 0, 'a timeout right after an answer is not a stall');
  clock.tick(1500);
  g.send('publish', timeout());
  g.send('heartbeat', timeout());
  await flush();
  t.equal(stalls(), 1, 'one reconnect');
  t.match(errors[0], /publish: Command timed out/);
  clock.tick(500);
  g.send('publish', timeout());
  await flush();
  t.equal(stalls(), 1, 'not again within the period');
  await t.rejects(g.run('refresh', Promise.reject(new Error('boom'))), /boom/, 'run rethrows');
  t.equal(stalls(), 1, 'other errors are no stall');
  let ok: boolean | undefined;
  g.send('publish', Promise.resolve(1), (v) => (ok = v));
  await flush();
  t.equal(ok, true);
});
