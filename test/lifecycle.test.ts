// How a process ends (`installShutdown`, on a fake process: signals, fatal errors, a rejected or hung
// close) and when the --workers primary re-forks a dead worker (`WorkerRestarts`).
import { EventEmitter } from 'node:events';
import t from 'tap';
import { installShutdown, type ShutdownProcess } from '../src/lifecycle/shutdown.js';
import { DEFAULT_WORKER_RESTARTS, WorkerRestarts } from '../src/lifecycle/worker-restarts.js';

function harness(close: () => Promise<void>) {
  const proc = new EventEmitter();
  const lines: string[] = [];
  const exits: number[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  let cuts = 0;
  let closes = 0;
  const exited = new Promise<number>((resolve) => {
    installShutdown({
      close: () => {
        closes++;
        return close();
      },
      cut: () => cuts++,
      hardDeadlineMs: 40_000,
      log: (l) => lines.push(l),
      exit: (code) => {
        exits.push(code);
        resolve(code);
      },
      proc: proc as unknown as ShutdownProcess,
      setTimer: (fn, ms) => timers.push({ fn, ms }),
    });
  });
  return { proc, lines, exits, timers, exited, cuts: () => cuts, closes: () => closes };
}

t.test('a second SIGTERM during the drain is logged and ignored, not a kill', async (t) => {
  let finish!: () => void;
  const h = harness(() => new Promise<void>((r) => (finish = r)));
  h.proc.emit('SIGTERM');
  h.proc.emit('SIGTERM');
  t.equal(h.closes(), 1, 'one close');
  t.same(h.exits, [], 'still draining');
  t.match(h.lines, ['SIGTERM: draining', 'SIGTERM: already draining']);
  finish();
  t.equal(await h.exited, 0, 'exits 0 when the drain is done');
});

t.test('SIGINT, then SIGINT again, cuts the drain', async (t) => {
  let finish!: () => void;
  const h = harness(() => new Promise<void>((r) => (finish = r)));
  h.proc.emit('SIGINT');
  h.proc.emit('SIGINT');
  await Promise.resolve();
  t.equal(h.cuts(), 1, 'the second SIGINT cuts');
  h.proc.emit('SIGINT');
  await Promise.resolve();
  t.equal(h.cuts(), 1, 'once');
  finish();
  t.equal(await h.exited, 0);
});

t.test('a close that rejects on SIGTERM is logged and exits 1, never an unhandled rejection', async (t) => {
  const h = harness(() => Promise.reject(new Error('store would not close')));
  h.proc.emit('SIGTERM');
  t.equal(await h.exited, 1);
  t.ok(h.lines.some((l) => l.includes('error while shutting down') && l.includes('store would not close')));
});

t.test('an uncaught exception or unhandled rejection drains and exits 1', async (t) => {
  for (const event of ['uncaughtException', 'unhandledRejection']) {
    const h = harness(() => Promise.resolve());
    h.proc.emit(event, new Error('boom'));
    t.equal(await h.exited, 1, `${event}: exit 1 after the drain`);
    t.equal(h.closes(), 1);
    t.ok(h.lines.some((l) => l.includes('boom')), 'the error is logged');
  }
  // During a drain begun by a signal, a fatal error changes the exit code, not the drain.
  let finish!: () => void;
  const h = harness(() => new Promise<void>((r) => (finish = r)));
  h.proc.emit('SIGTERM');
  h.proc.emit('uncaughtException', new Error('late'));
  t.equal(h.closes(), 1, 'no second close');
  finish();
  t.equal(await h.exited, 1);
});

t.test('a close that never ends is cut by the hard deadline', async (t) => {
  const h = harness(() => new Promise<void>(() => undefined));
  h.proc.emit('SIGTERM');
  t.equal(h.timers.length, 1);
  t.equal(h.timers[0].ms, 40_000);
  h.timers[0].fn();
  t.equal(await h.exited, 1);
});

t.test('worker restarts back off, reset after a healthy uptime, and give up on a crash loop', async (t) => {
  const r = new WorkerRestarts(2);
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const d = r.exited(0, undefined);
    t.ok(d.restart);
    if (d.restart) delays.push(d.delayMs);
  }
  t.same(delays, [100, 200, 400, 800], 'exponential backoff from 100 ms');
  t.same(r.exited(1, 50), { restart: true, delayMs: 100 }, 'each slot counts its own crashes');
  const last = r.exited(0, 1000);
  t.equal(last.restart, false, `gives up after ${DEFAULT_WORKER_RESTARTS.maxQuickCrashes} quick crashes in a row`);
  if (!last.restart) t.match(last.reason, /5 times in a row/);
  t.same(r.exited(1, 60_000), { restart: true, delayMs: 0 }, 'a worker that served a while is restarted at once');
  t.same(r.exited(1, 10), { restart: true, delayMs: 100 }, 'and its count started over');
  const capped = new WorkerRestarts(1, { ...DEFAULT_WORKER_RESTARTS, maxQuickCrashes: 100 });
  let d = capped.exited(0, undefined);
  for (let i = 0; i < 30; i++) d = capped.exited(0, undefined);
  t.same(d, { restart: true, delayMs: DEFAULT_WORKER_RESTARTS.maxDelayMs }, 'the delay is capped');
});

t.test('a log that fails (stderr a closed pipe) does not loop: fatal errors are logged a few times only', async (t) => {
  const h = harness(() => new Promise<void>(() => undefined));
  for (let i = 0; i < 50; i++) h.proc.emit('uncaughtException', new Error('write EPIPE'));
  t.equal(h.lines.filter((l) => l.includes('EPIPE')).length, 5, 'five logged, the rest dropped');
  t.equal(h.closes(), 1, 'one close');
});
