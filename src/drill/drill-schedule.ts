/**
 * Scheduled drills (`drills.schedule` in the config): every gateway looks at the schedule on a jittered
 * interval; when an entry's cadence period has not had its run and the UTC time of day is inside its
 * window, the gateway first asks whether a drill is wise now (the region and its failover target
 * healthy: never during a real outage), then claims the period in the store (`SET NX` with the
 * cadence as lifetime), so exactly one gateway of the fleet runs it, then takes one of the day's
 * `maxPerDay` budget tokens the same way. The winner runs the same engine as `regiongate drill`
 * (`runDrill`, through its own admin API), which keeps the record and report in the store. Runs on the
 * injected clock; one drill at a time per gateway; `close()` aborts a running drill (which restores).
 */
import type { GatewayConfig } from '../config/schema.js';
import type { FaultSpec } from '../fault/fault-spec.js';
import type { StateStore } from '../state/state-store.js';
import type { Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { DrillStartError, runDrill, type DrillDeps, type DrillOptions, type DrillReport } from './drill-run.js';

export type DrillScheduleConfig = GatewayConfig['drills'];
export type ScheduledDrill = DrillScheduleConfig['schedule'][number];

const DAY_MS = 86_400_000;

export interface DrillScheduleDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly store: Pick<StateStore, 'claim'>;
  readonly logger: Logger;
  /** The admin API the drill runs through (this gateway's own). */
  readonly admin: DrillDeps['admin'];
  /** Why a drill of `region` would be unwise now (it or its failover target unhealthy), or undefined. */
  readonly unwise: (region: string) => string | undefined;
  /** The drill engine (default `runDrill`; tests replace it). */
  readonly run?: (o: DrillOptions, d: DrillDeps) => Promise<DrillReport>;
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
  readonly #abort = new AbortController();
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

  /** Stop looking; a running drill is aborted (and restores) before this resolves. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#d.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
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
    const run = this.#d.run ?? runDrill;
    const log = this.#d.logger;
    log.info(LOG_EVENT.drillScheduled, { region: entry.region, mode: entry.mode });
    try {
      const report = await run(drillOptions(entry), {
        admin: this.#d.admin,
        clock: this.#d.clock,
        signal: this.#abort.signal,
        progress: (line) => log.info(LOG_EVENT.drillProgress, { region: entry.region, line }),
      });
      log.info(LOG_EVENT.drillEnded, { id: report.id, region: report.region, verdict: report.verdict, reason: report.reason, shiftMs: report.shiftMs, clientErrors: report.clientErrors, requests: report.requests });
    } catch (err) {
      // A drill that cannot start (refused: it would strand a model, unknown region) is logged, never thrown.
      log.warn(LOG_EVENT.drillSkipped, { region: entry.region, reason: err instanceof DrillStartError ? err.message : String(err) });
    }
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
