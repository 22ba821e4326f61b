/**
 * Scheduled drills (`drills.schedule` in the config): every gateway looks at the schedule on a jittered
 * interval; when an entry's cadence period has not had its run and the UTC time of day is inside its
 * window, the gateway first asks whether a drill is wise now (the region and its failover target
 * healthy: never during a real outage), then claims the period in the store (`SET NX` with the
 * cadence as lifetime), so exactly one gateway of the fleet runs it, then takes one of the day's
 * `maxPerDay` budget tokens the same way. The winner hands the drill to the gateway's `DrillRunner`, the
 * same one the admin API's drills run through (the engine of `regiongate drill`, which keeps the record
 * and report in the store). Runs on the injected clock; one scheduled drill at a time per gateway; the
 * runner's `close()` aborts a running drill (which restores), and this one's waits for it.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { FaultSpec } from '../fault/fault-spec.js';
import type { StateStore } from '../state/state-store.js';
import type { Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { DrillOptions } from './drill-run.js';
import type { DrillRunner } from './drill-runner.js';

export type DrillScheduleConfig = GatewayConfig['drills'];
export type ScheduledDrill = DrillScheduleConfig['schedule'][number];

const DAY_MS = 86_400_000;

export interface DrillScheduleDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly store: Pick<StateStore, 'claim'>;
  readonly logger: Logger;
  /** Runs the drill (and logs its progress and end), as for drills started through the admin API. */
  readonly runner: Pick<DrillRunner, 'start' | 'ended'>;
  /** Why a drill of `region` would be unwise now (it or its failover target unhealthy), or undefined. */
  readonly unwise: (region: string) => string | undefined;
}

/** Whether `minute` of the UTC day is inside [start, end) (wrapping past midnight when start > end). */
export function inWindow(minute: number, w: ScheduledDrill['window']): boolean {
  return w.start <= w.end ? minute >= w.start && minute < w.end : minute >= w.start || minute < w.end;
}

/** The options `runDrill` gets for a schedule entry. */
export function drillOptions(d: ScheduledDrill): DrillOptions {
  const fault: FaultSpec | undefined =
    d.mode === 'fault' && d.fault !== undefined ? { kind: d.fault, percent: d.percent ?? 0, delayMs: d.fault === 'slow' ? (d.delay ?? 500) : 0 } : undefined;
  return { region: d.region, durationMs: d.duration, maxErrorRatePct: d.maxErrorRate, origin: 'schedule', ...(fault !== undefined && { fault }) };
}

export class DrillSchedule {
  readonly #cfg: DrillScheduleConfig;
  readonly #d: DrillScheduleDeps;
  /** Per entry, the last cadence period settled (run here, run elsewhere, or out of budget). */
  readonly #settled: number[];
  /** Per entry, the last period a skip was logged for (one line per period, not one per check). */
  readonly #skipLogged: number[];
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(cfg: DrillScheduleConfig, deps: DrillScheduleDeps) {
    this.#cfg = cfg;
    this.#d = deps;
    this.#settled = cfg.schedule.map(() => -1);
    this.#skipLogged = cfg.schedule.map(() => -1);
  }

  start(): void {
    if (this.#cfg.schedule.length === 0 || this.#timer !== undefined || this.#closed) return;
    this.#arm();
  }

  /** Stop looking; resolves when a drill started here has ended (the runner's `close()` aborts it). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#d.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One look at the schedule (the timer's work): starts at most one drill, and resolves when it ends. */
  async check(): Promise<void> {
    if (this.#running !== undefined || this.#closed) return this.#running;
    const now = this.#d.clock.now();
    const minute = Math.floor((now % DAY_MS) / 60_000);
    for (const [i, entry] of this.#cfg.schedule.entries()) {
      const period = Math.floor(now / entry.cadence);
      if (this.#settled[i] === period || !inWindow(minute, entry.window)) continue;
      const why = this.#d.unwise(entry.region);
      if (why !== undefined) {
        if (this.#skipLogged[i] !== period) this.#d.logger.info(LOG_EVENT.drillSkipped, { region: entry.region, entry: i, reason: why });
        this.#skipLogged[i] = period;
        continue; // looked at again at the next check, while the window lasts
      }
      const won = await this.#d.store.claim(`drill:${i}:${entry.region}:${period}`, entry.cadence);
      if (won === undefined) continue; // store unreachable: try again later
      this.#settled[i] = period;
      if (!won) continue; // another gateway runs this one
      const day = Math.floor(now / DAY_MS);
      if (!(await this.#budget(day))) {
        this.#d.logger.warn(LOG_EVENT.drillSkipped, { region: entry.region, entry: i, reason: `the day's budget of ${this.#cfg.maxPerDay} scheduled drills is spent` });
        continue;
      }
      this.#running = this.#run(entry).finally(() => (this.#running = undefined));
      return this.#running;
    }
  }

  /** Take one of the UTC day's `maxPerDay` tokens; false when all are taken (or the store is unreachable). */
  async #budget(day: number): Promise<boolean> {
    for (let k = 0; k < this.#cfg.maxPerDay; k++) {
      const got = await this.#d.store.claim(`drill-budget:${day}:${k}`, 2 * DAY_MS);
      if (got === undefined) return false;
      if (got) return true;
    }
    return false;
  }

  async #run(entry: ScheduledDrill): Promise<void> {
    this.#d.logger.info(LOG_EVENT.drillScheduled, { region: entry.region, mode: entry.mode });
    // A drill that cannot start (it would strand a model, one of the region is already running here) is
    // logged by the runner, never thrown.
    const start = await this.#d.runner.start(drillOptions(entry));
    if (!('code' in start)) await this.#d.runner.ended(entry.region);
  }

  #arm(): void {
    // Jittered, so a fleet started together does not look at the schedule in lockstep.
    const every = this.#cfg.checkInterval;
    this.#timer = this.#d.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      void this.check().finally(() => {
        if (!this.#closed) this.#arm();
      });
    }, Math.round(every * (0.5 + this.#d.random())));
    this.#timer.unref();
  }
}
