/**
 * Drills started here, through the admin API (`POST /admin/drills/run`, the dashboard's form) or by the
 * schedule (`drill-schedule.ts`): the engine of `regiongate drill` (`runDrill`, through this gateway's own admin API), run in the
 * background here, so the drill keeps its record and report in the store whoever started it. Bounded:
 * one running drill per region on this gateway (a second is refused), and `close()` aborts every running
 * drill (each restores its region and records `aborted`) before the gateway drains.
 */
import type { AdminRefusal } from '../admin/admin-http.js';
import type { Logger } from '../telemetry/logger.js';
import { LOG_EVENT } from '../telemetry/names.js';
import type { Clock } from '../util/clock.js';
import { DrillStartError, runDrill, type DrillDeps, type DrillOptions, type DrillReport } from './drill-run.js';

export interface DrillRunnerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The admin API the drill runs through (this gateway's own). */
  readonly admin: DrillDeps['admin'];
  /** The drill engine (default `runDrill`). */
  readonly run?: (o: DrillOptions, d: DrillDeps) => Promise<DrillReport>;
}

/** The answer to a start: the drill's id, or a refusal for the admin API to send. */
export type DrillStart = { readonly id: string } | AdminRefusal;

export class DrillRunner {
  readonly #d: DrillRunnerDeps;
  /** Region → its running drill (settles when the drill has ended and been recorded). */
  readonly #running = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();

  constructor(deps: DrillRunnerDeps) {
    this.#d = deps;
  }

  /** Regions with a drill running from here. */
  get running(): readonly string[] {
    return [...this.#running.keys()];
  }

  /** The region's drill running from here, settling once it has ended and been recorded; undefined when none. */
  ended(region: string): Promise<void> | undefined {
    return this.#running.get(region);
  }

  /** Start a drill in the background; resolves once it has started (its `running` record kept) or was refused. */
  start(o: DrillOptions): Promise<DrillStart> {
    const log = this.#d.logger;
    // Every refusal is logged here (one `drill.skipped` line), whoever asked: the admin API or the schedule.
    const refuse = (r: AdminRefusal): Promise<DrillStart> => {
      log.warn(LOG_EVENT.drillSkipped, { region: o.region, reason: r.message });
      return Promise.resolve(r);
    };
    if (this.#abort.signal.aborted) return refuse({ status: 503, code: 'RG_ADMIN_UNAVAILABLE', message: 'the gateway is closing' });
    if (this.#running.has(o.region))
      return refuse({ status: 409, code: 'RG_ADMIN_DRILL_RUNNING', message: `a drill of region ${JSON.stringify(o.region)} is already running on this gateway` });
    return new Promise<DrillStart>((answer) => {
      const run = (this.#d.run ?? runDrill)(o, {
        admin: this.#d.admin,
        clock: this.#d.clock,
        signal: this.#abort.signal,
        progress: (line) => log.info(LOG_EVENT.drillProgress, { region: o.region, line }),
        started: (id) => {
          log.info(LOG_EVENT.drillStarted, { id, region: o.region, mode: o.fault === undefined ? 'drain' : 'fault' });
          answer({ id });
        },
      })
        .then((report) => {
          log.info(LOG_EVENT.drillEnded, { id: report.id, region: report.region, verdict: report.verdict, reason: report.reason, shiftMs: report.shiftMs, clientErrors: report.clientErrors, clientErrorCauses: report.clientErrorCauses, requests: report.requests });
          answer({ id: report.id }); // already answered unless the engine skipped `started` (a replaced engine)
        })
        .catch((err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          log.warn(LOG_EVENT.drillSkipped, { region: o.region, reason: message });
          answer(refusal(err instanceof DrillStartError ? err.status : undefined, message));
        })
        .finally(() => this.#running.delete(o.region));
      this.#running.set(o.region, run);
    });
  }

  /** Abort every running drill (each restores and records `aborted`), and refuse new ones; resolves when all have ended. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#running.values());
  }
}

/** A drill that did not start, as the admin API answers it: the status of the action's refusal where there was one. */
function refusal(status: number | undefined, message: string): DrillStart {
  if (status === 404) return { status: 404, code: 'RG_ADMIN_NOT_FOUND', message };
  if (status === 409) return { status: 409, code: 'RG_ADMIN_STRANDS_MODEL', message };
  if (status === 400) return { status: 400, code: 'RG_ADMIN_BAD_REQUEST', message };
  return { status: 503, code: 'RG_ADMIN_UNAVAILABLE', message };
}
