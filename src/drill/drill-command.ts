/**
 * `regiongate drill --admin URL [--token T] --region NAME --duration DUR [--max-error-rate PCT] [--json]
 * [--mode drain|fault --fault error|hang|slow --percent P [--delay DUR]]`: parses the command line, runs one drill (`drill-run.ts`) with Ctrl-C as an abort, and prints the
 * report (text, or one JSON object with `--json`). Exit 0 on pass, 1 otherwise, 64 on bad usage.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { parseArgsErrorMessage } from '../util/parse-args-error.js';
import { parseFaultSpec, describeFault, type FaultSpec } from '../fault/fault-spec.js';
import { AdminClient } from './admin-client.js';
import { DrillStartError, runDrill, type DrillReport } from './drill-run.js';

export const DRILL_USAGE = `  drill --admin URL [--token T] --region NAME --duration DUR [--max-error-rate PCT] [--force] [--json]
        [--mode drain|fault] [--fault error|hang|slow --percent P [--delay DUR]]
                             take REGION out fleet-wide for DUR (drain mode, the default), or have every
                             gateway inject a fault into P % of its attempts toward REGION (fault mode;
                             slow adds --delay, default 500ms), through a gateway's admin API; watch the
                             fleet, abort and restore when client errors exceed PCT % (default 1) or on
                             Ctrl-C, print a report; exit 0 on pass, 1 otherwise`;

/** Longest drill: the admin action's limit. */
const MAX_DURATION_MS = 86_400_000;

export async function runDrillCommand(args: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        admin: { type: 'string' },
        token: { type: 'string' },
        region: { type: 'string' },
        duration: { type: 'string' },
        'max-error-rate': { type: 'string' },
        json: { type: 'boolean' },
        force: { type: 'boolean' },
        mode: { type: 'string' },
        fault: { type: 'string' },
        percent: { type: 'string' },
        delay: { type: 'string' },
      },
    }));
  } catch (e) {
    err(`drill: ${parseArgsErrorMessage(e)}\n${DRILL_USAGE}\n`);
    return 64;
  }
  const problems: string[] = [];
  let admin: URL | undefined;
  try {
    admin = values.admin === undefined ? undefined : new URL(values.admin);
    if (admin && admin.protocol !== 'http:' && admin.protocol !== 'https:') problems.push('--admin must be an http(s) URL');
  } catch {
    problems.push(`--admin: not a URL: ${JSON.stringify(values.admin)}`);
  }
  if (values.admin === undefined) problems.push('--admin URL is required');
  if (!values.region) problems.push('--region NAME is required');
  const durationMs = parseDuration(values.duration);
  if (values.duration === undefined) problems.push('--duration DUR is required (e.g. 30s)');
  else if (durationMs === undefined || durationMs < 1000 || durationMs > MAX_DURATION_MS) problems.push('--duration must be from 1s to 24h');
  const rate = values['max-error-rate'] === undefined ? 1 : Number(values['max-error-rate'].replace(/%$/, ''));
  if (!(rate >= 0 && rate <= 100)) problems.push('--max-error-rate must be a percentage from 0 to 100');
  const mode = values.mode ?? 'drain';
  let fault: FaultSpec | undefined;
  if (mode === 'fault') {
    const f = parseFaultSpec(values.fault, values.percent, values.delay);
    if (typeof f === 'string') problems.push(`--${f}`);
    else fault = f;
  } else if (mode !== 'drain') problems.push('--mode must be drain or fault');
  else if (values.fault !== undefined || values.percent !== undefined || values.delay !== undefined) problems.push('--fault, --percent and --delay need --mode fault');
  const token = values.token ?? process.env.REGIONGATE_ADMIN_TOKEN;
  if (problems.length > 0 || admin === undefined || durationMs === undefined || !values.region) {
    err(`drill: ${problems.join('; ')}\n${DRILL_USAGE}\n`);
    return 64;
  }
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const report = await runDrill(
      { region: values.region, durationMs, maxErrorRatePct: rate, force: values.force === true, ...(fault !== undefined && { fault }) },
      { admin: new AdminClient(admin.href, token), clock: systemClock, signal: abort.signal, progress: (l) => err(`drill: ${l}\n`) },
    );
    out(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return report.verdict === 'pass' ? 0 : 1;
  } catch (e) {
    if (!(e instanceof DrillStartError)) throw e;
    err(`drill: ${e.message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const ms = (v: number | null): string => (v === null ? '-' : `${v} ms`);

/** The report for a terminal. */
export function formatReport(r: DrillReport): string {
  const lines = [
    `drill ${r.id}`,
    `hypothesis: ${r.hypothesis}`,
    `mode:       ${r.mode === 'fault' && r.fault !== undefined ? `fault (${describeFault(r.fault)})` : 'drain'}${r.origin === 'schedule' ? ', scheduled' : ''}`,
    `verdict:    ${r.verdict}${r.reason ? ` (${r.reason})` : ''}${r.restored ? ', region restored' : ''}`,
    `shift:      ${r.mode === 'fault' ? 'n/a (fault mode: the region stays in rotation)' : r.shiftMs === null ? 'not complete' : `${r.shiftMs} ms until no gateway sent ${r.region} a new request`}`,
    `requests:   ${r.requests}, client errors ${r.clientErrors} (budget ${r.maxErrorRatePct} %)${Object.keys(r.clientErrorCauses).length ? `: ${Object.entries(r.clientErrorCauses).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`,
    `traffic during the drill: ${Object.entries(r.traffic).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    'gateway                 shift      requests errors  p50/p99 before      during              after',
  ];
  for (const g of r.gateways) {
    const l = g.latency;
    lines.push(
      [
        g.gatewayId.padEnd(23),
        ms(g.shiftMs).padEnd(10),
        String(g.requests).padEnd(8),
        String(g.clientErrors).padEnd(7),
        `${ms(l.before.p50Ms)}/${ms(l.before.p99Ms)}`.padEnd(19),
        `${ms(l.during.p50Ms)}/${ms(l.during.p99Ms)}`.padEnd(19),
        `${ms(l.after.p50Ms)}/${ms(l.after.p99Ms)}`,
      ].join(' '),
    );
  }
  return `${lines.map(printable).join('\n')}\n`;
}

/**
 * The line with control characters shown as `?`: gateway ids, regions and causes come from the fleet's
 * summaries, and an unsigned fleet's store could carry terminal escapes in them.
 */
function printable(line: string): string {
  return line.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
