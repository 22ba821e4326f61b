/**
 * One fire drill through one gateway's admin API: read the fleet view (before), take the region out
 * fleet-wide with the admin `drill` action (drain mode), or have every gateway inject a fault into its
 * attempts toward the region with the `fault` action (fault mode); either expires by itself even if this
 * process dies. Watch the fleet while it runs, abort and restore (`undrill` / `unfault`) when
 * client-visible errors exceed the budget over a short window or on Ctrl-C (`signal`), watch a little
 * after, then keep the drill and its report in the store (`POST /admin/drills`) and return the report.
 * A drill that starts is always kept, whatever its verdict; one that cannot start has no record.
 */
import { describeFault, type FaultSpec } from '../fault/fault-spec.js';
import type { Clock } from '../util/clock.js';
import { describeFailure, type AdminClient } from './admin-client.js';
import { DrillWatch, fleetViewSchema, type FleetViewAnswer, type GatewayReport } from './drill-watch.js';

export interface DrillOptions {
  readonly region: string;
  readonly durationMs: number;
  /** Highest client error rate tolerated over the window, in percent. */
  readonly maxErrorRatePct: number;
  /** Drill even when the region is the last to serve a model (the admin API refuses otherwise). */
  readonly force?: boolean;
  /** The window the error rate is judged over (default: 5 summary intervals, at least 3 s). */
  readonly windowMs?: number;
  /** Fault mode: inject this fault instead of taking the region out (drain mode). */
  readonly fault?: FaultSpec;
  /** Who started it: `cli`, `schedule` (the config's schedule), or `admin` (`POST /admin/drills/run`, the dashboard's form). */
  readonly origin?: DrillOrigin;
}

export type DrillMode = 'drain' | 'fault';
export type DrillOrigin = 'cli' | 'schedule' | 'admin';

export type Verdict = 'pass' | 'fail' | 'aborted';

export interface DrillReport {
  readonly id: string;
  readonly region: string;
  readonly mode: DrillMode;
  /** Fault mode: the injected fault. */
  readonly fault?: FaultSpec;
  readonly origin: DrillOrigin;
  readonly hypothesis: string;
  readonly verdict: Verdict;
  /** Why the verdict is not pass (absent on pass). */
  readonly reason?: string;
  readonly startedAt: number;
  readonly durationMs: number;
  /** Drain mode: ms until no gateway sent the region a new request (null: not complete; always null in fault mode). */
  readonly shiftMs: number | null;
  readonly clientErrors: number;
  /** The client errors by cause (error code, or `http_<status>`), most frequent first: why they failed. */
  readonly clientErrorCauses: Readonly<Record<string, number>>;
  readonly requests: number;
  readonly maxErrorRatePct: number;
  /** The drill was ended early through `undrill` (after an abort) and the gateway confirmed it. */
  readonly restored: boolean;
  readonly gateways: readonly GatewayReport[];
  /** Upstream attempts per region during the drill, all gateways together. */
  readonly traffic: Readonly<Record<string, number>>;
}

/** A drill that could not start (unknown region, refused, admin API unreachable): no report, exit 1. */
export class DrillStartError extends Error {
  /** The admin API's status when it refused the drill's action (409: it would strand a model), else undefined. */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

export interface DrillDeps {
  readonly admin: Pick<AdminClient, 'get' | 'post'>;
  readonly clock: Clock;
  /** Ctrl-C: abort and restore. */
  readonly signal?: AbortSignal;
  /** Progress lines (stderr). */
  readonly progress?: (line: string) => void;
  /** Told the drill's id once its action is applied and its `running` record posted. */
  readonly started?: (id: string) => void;
}

export async function runDrill(o: DrillOptions, d: DrillDeps): Promise<DrillReport> {
  const say = d.progress ?? (() => {});
  const region = encodeURIComponent(o.region);
  const fleet = async (): Promise<FleetViewAnswer | undefined> => {
    const a = await d.admin.get('/admin/fleet');
    if (a instanceof Error || a.status !== 200) return void say(`fleet view: ${describeFailure(a)}`);
    const v = fleetViewSchema.safeParse(a.body);
    return v.success ? v.data : void say('fleet view: unexpected answer');
  };
  const first = await fleet();
  if (first === undefined) throw new DrillStartError(`cannot read the fleet view at /admin/fleet`);
  if (first.stale) say('the fleet view is stale (the gateway cannot reach its store): other gateways may be missing from the report');
  const every = Math.max(200, Math.floor(first.intervalMs / 2));
  const windowMs = o.windowMs ?? Math.max(3000, first.intervalMs * 5);
  const watch = new DrillWatch(o.region);
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = d.clock.setTimeout(done, ms);
      function done(): void {
        d.clock.clearTimeout(t);
        d.signal?.removeEventListener('abort', done);
        resolve();
      }
      d.signal?.addEventListener('abort', done, { once: true });
    });

  // Before: a fresh window of every gateway's latency.
  watch.observe(first, 'before');
  await sleep(first.intervalMs + 100);
  const base = (await fleet()) ?? first;
  watch.observe(base, 'before');

  const startedAt = d.clock.now();
  const mode: DrillMode = o.fault === undefined ? 'drain' : 'fault';
  const id = `drill-${o.region.replace(/[^A-Za-z0-9._-]/g, '_')}-${startedAt}`;
  const hypothesis =
    o.fault === undefined
      ? `With region ${o.region} out on every gateway for ${o.durationMs / 1000} s, its traffic moves to other regions and clients see at most ${o.maxErrorRatePct} % errors.`
      : `With ${describeFault(o.fault)} of attempts toward region ${o.region} faulted on every gateway for ${o.durationMs / 1000} s, retries and failover keep client errors at most ${o.maxErrorRatePct} %.`;
  if (d.signal?.aborted) throw new DrillStartError('interrupted before the drill started');
  const seconds = Math.max(1, Math.ceil(o.durationMs / 1000));
  const common = `seconds=${seconds}&reason=${encodeURIComponent(id)}`;
  const f = o.fault;
  const started = await d.admin.post(
    f === undefined
      ? `/admin/regions/${region}/drill?${common}${o.force ? '&force=true' : ''}`
      : `/admin/regions/${region}/fault?${common}&fault=${f.kind}&percent=${f.percent}${f.kind === 'slow' ? `&delay=${f.delayMs}ms` : ''}`,
  );
  if (started instanceof Error || started.status !== 200) throw new DrillStartError(`the drill was not started: ${describeFailure(started)}`, started instanceof Error ? undefined : started.status);
  say(f === undefined ? `${id}: region ${o.region} out fleet-wide for ${seconds} s` : `${id}: ${describeFault(f)} of attempts toward region ${o.region} faulted fleet-wide for ${seconds} s`);
  const origin = o.origin ?? 'cli';
  const kept0 = await d.admin.post('/admin/drills', { id, region: o.region, startedAt, status: 'running', durationMs: o.durationMs, mode, origin });
  if (kept0 instanceof Error || kept0.status !== 200) say(`the running drill was not recorded in the store: ${describeFailure(kept0)}`);
  d.started?.(id);
  watch.begin(base, startedAt);

  const history: { at: number; requests: number; clientErrors: number }[] = [{ at: startedAt, requests: 0, clientErrors: 0 }];
  let abortReason: string | undefined;
  const endsAt = startedAt + o.durationMs;
  while (d.clock.now() < endsAt && abortReason === undefined) {
    await sleep(Math.min(every, Math.max(0, endsAt - d.clock.now())));
    if (d.signal?.aborted) {
      abortReason = 'interrupted (Ctrl-C)';
      break;
    }
    const v = await fleet();
    if (v === undefined) continue;
    watch.observe(v, 'during');
    const now = d.clock.now();
    history.push({ at: now, ...watch.totals() });
    while (history.length > 2 && history[1].at <= now - windowMs) history.shift();
    const a = history[0];
    const b = history[history.length - 1];
    const requests = b.requests - a.requests;
    const errors = b.clientErrors - a.clientErrors;
    if (requests > 0 && (errors / requests) * 100 > o.maxErrorRatePct)
      abortReason = `client errors ${errors} of ${requests} requests (${((errors / requests) * 100).toFixed(1)} %) over the last ${Math.round((b.at - a.at) / 100) / 10} s exceed ${o.maxErrorRatePct} %${causesText(watch.errorCauses())}`;
  }

  let restored = false;
  if (abortReason !== undefined) {
    say(`aborting: ${abortReason}`);
    const undo = await d.admin.post(`/admin/regions/${region}/${f === undefined ? 'undrill' : 'unfault'}?reason=${encodeURIComponent(`${id} aborted`)}`);
    restored = !(undo instanceof Error) && undo.status === 200;
    if (!restored) say(`restore failed: ${describeFailure(undo)} (the drill still ends at its expiry)`);
  }
  // A last read of the drill's counters, then the after-window (the region back in rotation).
  const last = await fleet();
  if (last !== undefined) watch.observe(last, 'during');
  await sleep(first.intervalMs * 2 + 100);
  const after = await fleet();
  if (after !== undefined) watch.observe(after, 'after');

  const { requests, clientErrors } = watch.totals();
  const shiftMs = watch.shiftMs();
  const rate = requests > 0 ? (clientErrors / requests) * 100 : 0;
  const clientErrorCauses = watch.errorCauses();
  let verdict: Verdict = 'pass';
  let reason: string | undefined;
  if (abortReason !== undefined) [verdict, reason] = ['aborted', abortReason];
  else if (shiftMs === null && mode === 'drain') [verdict, reason] = ['fail', `the region still got new requests at the end of the drill`];
  else if (rate > o.maxErrorRatePct) [verdict, reason] = ['fail', `client error rate ${rate.toFixed(2)} % exceeds ${o.maxErrorRatePct} %${causesText(clientErrorCauses)}`];
  const report: DrillReport = {
    id,
    region: o.region,
    mode,
    ...(f !== undefined && { fault: f }),
    origin,
    hypothesis,
    verdict,
    ...(reason !== undefined && { reason }),
    startedAt,
    durationMs: o.durationMs,
    shiftMs: mode === 'drain' ? shiftMs : null,
    clientErrors,
    clientErrorCauses,
    requests,
    maxErrorRatePct: o.maxErrorRatePct,
    restored,
    gateways: watch.gateways(),
    traffic: watch.traffic(),
  };
  const kept = await d.admin.post('/admin/drills', { id, region: o.region, startedAt, status: verdict, mode, origin, report });
  if (kept instanceof Error || kept.status !== 200) say(`the report was not kept in the store: ${describeFailure(kept)}`);
  return report;
}

/** ` (RG_ERR_RETRY_BUDGET 40, http_503 2)`: the first causes, to say why clients saw errors; '' for none. */
function causesText(causes: Readonly<Record<string, number>>): string {
  const top = Object.entries(causes).slice(0, 3);
  return top.length === 0 ? '' : ` (${top.map(([c, n]) => `${c} ${n}`).join(', ')}${Object.keys(causes).length > 3 ? ', ...' : ''})`;
}
