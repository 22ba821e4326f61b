/**
 * Soak: each system under sustained closed-loop load (wrk or autocannon, 32 connections) in bursts,
 * for long enough that V8's first full mark-compacts happen (about 40 s at 10k+ req/s). Per burst:
 * requests per second, the share of time spent in GC pauses, heap and RSS; the table compares the
 * first bursts with the last, so a system whose cost per request grows with its age shows it. It was
 * added after a Set churned at request rate made regiongate's minor GC six times dearer after ~40 s
 * (see bench/results/HISTORY.md, "The GC story").
 *
 *   node bench/soak.mjs [--quick] [--systems regiongate,undici-minimal]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHAT, chatCheck } from './overhead.mjs';
import { pickSystems } from './lib/args.mjs';
import { closedLoopCeiling } from './lib/ceiling.mjs';
import { startLoadgen } from './lib/loadgen.mjs';
import { busyWarning } from './lib/machine.mjs';
import { startSystems, stopSystems } from './lib/peers.mjs';
import { rssBytes } from './lib/proc-stats.mjs';
import { isMain, logger, runStandalone } from './lib/scenario.mjs';
import { int } from './lib/table.mjs';
import { startFastTarget } from './lib/targets.mjs';

const GC_PROBE = fileURLToPath(new URL('./lib/servers/gc-probe.cjs', import.meta.url));
const SOAK_SYSTEMS = Object.freeze(['regiongate', 'undici-minimal', 'node-http-proxy']);

/** @param {string} dir @param {number | undefined} pid */
function gcStats(dir, pid) {
  try {
    return JSON.parse(readFileSync(join(dir, `gc-${pid}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

const median = (/** @type {number[]} */ v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
const pct = (/** @type {number} */ x) => `${(100 * x).toFixed(1)} %`;

/**
 * @param {import('./lib/args.mjs').BenchArgs} args
 * @param {import('./lib/machine.mjs').Machine} machine
 * @returns {Promise<import('./lib/results.mjs').ScenarioResult>}
 */
export async function soak(args, machine) {
  const log = logger('soak');
  const settings = { bursts: args.quick ? 4 : 18, burstS: 5, connections: 32, compare: args.quick ? 1 : 3 };
  const probeDir = mkdtempSync(join(tmpdir(), 'rg-bench-gc-'));
  const target = await startFastTarget({ forceNode: args.nodeTarget });
  const loadgen = await startLoadgen();
  // Only the systems load the probe: set for their start, then unset.
  const before = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${before ?? ''} --require ${GC_PROBE}`.trim();
  process.env.RG_GC_PROBE_DIR = probeDir;
  const started = await startSystems(pickSystems(SOAK_SYSTEMS, args.systems), { target: target.url }, chatCheck).finally(() => {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
    delete process.env.RG_GC_PROBE_DIR;
  });
  const { systems, skipped } = started;
  /** @type {Record<string, { rps: number, gcShare: number, heapMB: number, rssMB: number, maxPauseMs: number }[]>} */
  const bursts = {};
  try {
    log(`systems: ${systems.map((s) => s.name).join(', ')}; ${settings.bursts} bursts of ${settings.burstS} s, ${settings.connections} connections, one system at a time`);
    for (const s of systems) {
      bursts[s.name] = [];
      let last = gcStats(probeDir, s.pid);
      for (let i = 0; i < settings.bursts; i++) {
        const r = await closedLoopCeiling(loadgen, { ...CHAT, url: s.url, headers: { ...CHAT.headers, ...s.headers } }, { durationS: settings.burstS, connections: settings.connections });
        await new Promise((resolve) => setTimeout(resolve, 1100)); // the probe's next write
        const now = gcStats(probeDir, s.pid);
        const gcMs = now && last ? now.minorMs + now.majorMs - last.minorMs - last.majorMs : NaN;
        const row = {
          rps: r.rps,
          gcShare: gcMs / (settings.burstS * 1000 + 1100),
          heapMB: (now?.heapUsed ?? NaN) / 2 ** 20,
          rssMB: (s.pid ? rssBytes(s.pid) : NaN) / 2 ** 20,
          maxPauseMs: now?.maxPauseMs ?? NaN,
        };
        bursts[s.name].push(row);
        last = now;
        log(`${s.name.padEnd(16)} burst ${String(i + 1).padStart(2)}: ${int(row.rps)} req/s, GC ${pct(row.gcShare)}, heap ${row.heapMB.toFixed(1)} MB, RSS ${row.rssMB.toFixed(0)} MB`);
      }
    }
    await stopSystems(systems);
    const k = settings.compare;
    const rows = systems.map((s) => {
      const b = bursts[s.name];
      const first = b.slice(1, 1 + k); // the first burst is warm-up (JIT)
      const tail = b.slice(-k);
      return [
        s.name,
        int(median(first.map((x) => x.rps))),
        int(median(tail.map((x) => x.rps))),
        pct(median(first.map((x) => x.gcShare))),
        pct(median(tail.map((x) => x.gcShare))),
        `${b[1]?.rssMB.toFixed(0)} → ${b.at(-1)?.rssMB.toFixed(0)}`,
        (b.at(-1)?.maxPauseMs ?? NaN).toFixed(1),
      ];
    });
    return {
      scenario: 'soak',
      machine,
      quick: args.quick,
      settings: { ...settings, target: target.kind, tool: 'wrk when installed, else autocannon' },
      skipped,
      tables: [
        {
          title: `Soak: ${settings.bursts} × ${settings.burstS} s of closed-loop load per system`,
          headers: ['system', 'req/s early', 'req/s late', 'GC early', 'GC late', 'RSS MB', 'max GC pause ms'],
          rows,
          notes: [
            `POST /v1/chat/completions, 1 KB JSON, ${settings.connections} connections, closed loop; the system on one core. "Early": median of bursts 2 to ${1 + k} (burst 1 warms up the JIT); "late": of the last ${k}.`,
            'GC: share of wall time in GC pauses (PerformanceObserver gc entries, preloaded). A system whose late GC share or RSS grows well past its early one keeps garbage alive in old space.',
            'Closed-loop req/s on this shared 2-core machine swings ±40 % between bursts; read GC share and RSS first.',
            ...[busyWarning(machine)].filter((x) => x !== undefined),
          ],
        },
      ],
      raw: { bursts },
    };
  } finally {
    await stopSystems(systems);
    await loadgen.stop();
    await target.stop();
    rmSync(probeDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runStandalone(soak);
