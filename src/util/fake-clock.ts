/**
 * A simulated clock for tests: time moves only when `tick()` is called, and timers due in the
 * ticked span run in order of their due time. `tick()` advances wall and monotonic time together;
 * `stepWall()` moves the wall clock alone, as an NTP step does (timers and `monotonic()` ignore it).
 */
import type { Clock, TimerHandle } from './clock.js';

interface FakeTimer extends TimerHandle {
  id: number;
  due: number;
  every: number; // 0 for one-shot
  fn: () => void;
}

export class FakeClock implements Clock {
  #now: number; // monotonic; timers run on it
  #wallOffset = 0;
  #seq = 0;
  #timers = new Map<number, FakeTimer>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now + this.#wallOffset;
  }

  monotonic(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, ms, 0);
  }

  setTimeoutFor<A>(fn: (arg: A) => void, ms: number, arg: A): TimerHandle {
    return this.#add(() => fn(arg), ms, 0);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, ms, Math.max(1, ms));
  }

  clearTimeout(h: TimerHandle | undefined): void {
    if (h) this.#timers.delete((h as FakeTimer).id);
  }

  clearInterval(h: TimerHandle | undefined): void {
    this.clearTimeout(h);
  }

  /** Step the wall clock by `ms` (negative: backwards), like NTP correcting a drifted clock. */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
  }

  /** Number of pending timers (tests use it to prove cleanup). */
  get pending(): number {
    return this.#timers.size;
  }

  /** Advance time by `ms`, running every timer that falls due, in order. */
  tick(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.#timers.values()) if (t.due <= end && (!next || t.due < next.due)) next = t;
      if (!next) break;
      this.#now = next.due;
      if (next.every > 0) next.due += next.every;
      else this.#timers.delete(next.id);
      next.fn();
    }
    this.#now = end;
  }

  #add(fn: () => void, ms: number, every: number): TimerHandle {
    const id = ++this.#seq;
    const t: FakeTimer = { id, due: this.#now + Math.max(0, ms), every, fn, unref() {} };
    this.#timers.set(id, t);
    return t;
  }
}
