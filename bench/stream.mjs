/**
 * Scenario 3, SSE streaming. Part 1: streamed chat completions of 64 frames every 20 ms (regiongate's
 * region simulator) through every system: added time to first byte p50/p99 and added inter-frame gap
 * p99 over direct. Part 2: concurrent streams held through regiongate (1k, 5k, then as many as the
 * open-files limit allows, up to 10k): resident memory per stream, CPU, and stalls (a gap longer than
 * twice the pace), next to the same load sent straight to the simulator (the harness's own stalls).
 *
 *   node bench/stream.mjs [--quick] [--rounds N] [--systems ...] [--streams 1000,5000,10000] [--hold-interval MS]
 */
import { pickSystems, rotated } from './lib/args.mjs';
import { startLoadgen } from './lib/loadgen.mjs';
import { busyWarning } from './lib/machine.mjs';
import { CHAT_PATH, JSON_HEADERS, STREAM_REQUEST } from './lib/payloads.mjs';
import { ALL_SYSTEMS, smokeCheck, startSystem, startSystems, stopSystems } from './lib/peers.mjs';
import { cpuSeconds, listenOverflows, rssBytes } from './lib/proc-stats.mjs';
import { cpuProfArgs, isMain, logger, runStandalone } from './lib/scenario.mjs';
import { runClean } from './lib/noise.mjs';
import { median } from './lib/stats.mjs';
import { int, ms, plusMs } from './lib/table.mjs';
import { startSseTarget } from './lib/targets.mjs';

const FRAMES = 64;
const PACE_MS = 20;
const STREAM = Object.freeze({ path: CHAT_PATH, method: /** @type {const} */ ('POST'), headers: { ...JSON_HEADERS }, body: STREAM_REQUEST });
/** Descriptors regiongate needs per held stream: the client's socket and the upstream's. */
const FDS_PER_STREAM = 2;
const FD_RESERVE = 600;
const sleep = (/** @type {number} */ t) => new Promise((r) => setTimeout(r, t));

/** The default held-stream levels: 1k, 5k and the most the open-files limit allows, up to 10k. */
export function defaultLevels(/** @type {number} */ nofile, /** @type {boolean} */ quick) {
  const top = Math.min(10_000, Math.floor((nofile - FD_RESERVE) / FDS_PER_STREAM / 100) * 100);
  if (quick) return [Math.min(1000, top)];
  return [...new Set([1000, 5000, top].filter((n) => n <= top))];
}

/**
 * @param {import('./lib/args.mjs').BenchArgs} args
 * @param {import('./lib/machine.mjs').Machine} machine
 * @returns {Promise<import('./lib/results.mjs').ScenarioResult>}
 */
export async function stream(args, machine) {
  const log = logger('stream');
  const settings = {
    rounds: args.rounds ?? (args.quick ? 1 : 3),
    frames: FRAMES,
    paceMs: PACE_MS,
    streamRate: 40,
    warmupMs: args.quick ? 300 : 500,
    durationMs: args.quick ? 1000 : 2000,
    holdLevels: args.streams ?? defaultLevels(machine.nofile, args.quick),
    holdPaceMs: args.holdInterval ?? 500,
    holdMs: args.quick ? 2000 : 4000,
    rampPerSec: 1000,
  };
  const target = await startSseTarget({ frames: FRAMES, intervalMs: PACE_MS });
  log(`target: ${target.kind} at ${target.url} (${FRAMES} frames every ${PACE_MS} ms)`);
  const loadgen = await startLoadgen();
  const check = (/** @type {import('./lib/peers.mjs').System} */ s) => smokeCheck(s, { ...STREAM, expectType: 'text/event-stream' });
  const { systems, skipped } = await startSystems(pickSystems(ALL_SYSTEMS, args.systems), { target: target.url }, check);
  try {
    // Part 1: streams through every system, interleaved rounds.
    log(`systems: ${systems.map((s) => s.name).join(', ')}; ${settings.rounds} round(s), ${settings.streamRate} streams/s for ${settings.durationMs} ms`);
    /** @type {Record<string, any>[]} */
    const rounds = [];
    for (let r = 0; r < settings.rounds; r++) {
      /** @type {Record<string, any>} */
      const row = {};
      for (const sys of rotated(systems, r)) {
        try {
          const job = () => loadgen.run(
            {
              kind: 'streams',
              origin: sys.url,
              ...STREAM,
              headers: { ...STREAM.headers, ...sys.headers },
              streamRate: settings.streamRate,
              warmupMs: settings.warmupMs,
              durationMs: settings.durationMs,
              connections: 1024,
              expectFrames: FRAMES,
              paceMs: PACE_MS,
            },
            settings.warmupMs + settings.durationMs + FRAMES * PACE_MS + 30_000,
          );
          const { res, noisy, runs } = await runClean(job, { system: sys.pid, load: [loadgen.pid, target.pid] }, 1, log);
          row[sys.name] = { ttfbP50: res.ttfb.p50, ttfbP99: res.ttfb.p99, gapP50: res.gap.p50, gapP99: res.gap.p99, gapMax: res.gap.max, stalls: res.stalls, ok: res.ok, errors: res.errors, errorKinds: res.errorKinds, lateP99: res.lateness.p99, noisy, runs };
          log(`round ${r + 1}/${settings.rounds}  ${sys.name.padEnd(20)} ttfb p50 ${ms(res.ttfb.p50)} p99 ${ms(res.ttfb.p99)}  gap p99 ${ms(res.gap.p99)} max ${ms(res.gap.max)}  stalls ${res.stalls}  ok ${res.ok} errors ${res.errors}${noisy ? `  (noisy: ${noisy})` : ''}`);
        } catch (err) {
          row[sys.name] = { ttfbP50: NaN, ttfbP99: NaN, gapP99: NaN, stalls: NaN, ok: 0, errors: NaN, failure: /** @type {Error} */ (err).message.split('\n')[0] };
          log(`round ${r + 1}/${settings.rounds}  ${sys.name} FAILED: ${row[sys.name].failure}`);
        }
      }
      rounds.push(row);
    }
    const summary = Object.fromEntries(
      systems.map((s) => {
        const mine = rounds.map((row) => row[s.name]);
        const added = (/** @type {string} */ k) => median(rounds.map((row) => row[s.name][k] - row.direct?.[k]));
        return [
          s.name,
          {
            ttfbP50: median(mine.map((x) => x.ttfbP50)),
            ttfbP99: median(mine.map((x) => x.ttfbP99)),
            gapP99: median(mine.map((x) => x.gapP99)),
            addedTtfbP50: added('ttfbP50'),
            addedTtfbP99: added('ttfbP99'),
            addedGapP99: added('gapP99'),
            stalls: mine.reduce((n, x) => n + (Number.isFinite(x.stalls) ? x.stalls : 0), 0),
            streams: mine.reduce((n, x) => n + x.ok, 0),
            errors: mine.reduce((n, x) => n + (Number.isFinite(x.errors) ? x.errors : 0), 0),
            noisyRounds: mine.filter((x) => x.noisy).length,
          },
        ];
      }),
    );
    await stopSystems(systems);

    // Part 2: concurrent streams held through regiongate, a fresh gateway per level.
    const holds = [];
    for (const level of settings.holdLevels) holds.push(await holdLevel(loadgen, target.url, level, settings, args, log));

    const dash = (/** @type {string} */ name, /** @type {string} */ v) => (name === 'direct' ? '—' : v);
    return {
      scenario: 'stream',
      machine,
      quick: args.quick,
      settings: { ...settings, target: target.kind },
      skipped,
      tables: [
        {
          title: `SSE: ${FRAMES} frames every ${PACE_MS} ms (ms)`,
          headers: ['system', 'TTFB p50', 'TTFB p99', 'added TTFB p50', 'added TTFB p99', 'gap p99', 'added gap p99', 'stalls', 'streams', 'errors', 'noisy'],
          rows: systems.map((s) => {
            const x = summary[s.name];
            return [s.name, ms(x.ttfbP50), ms(x.ttfbP99), dash(s.name, plusMs(x.addedTtfbP50)), dash(s.name, plusMs(x.addedTtfbP99)), ms(x.gapP99), dash(s.name, plusMs(x.addedGapP99)), int(x.stalls), int(x.streams), int(x.errors), `${x.noisyRounds}/${settings.rounds}`];
          }),
          notes: [
            `Streamed POST ${CHAT_PATH} (stream: true) answered by regiongate's region simulator; ${settings.streamRate} streams/s started open-loop for ${settings.durationMs} ms after ${settings.warmupMs} ms warm-up, ${settings.rounds} interleaved round(s), medians of round figures.`,
            'TTFB: from the scheduled start to the first frame. Gap: between consecutive frames of a stream. Stall: a gap > 2 × 20 ms (summed over rounds).',
            ...[busyWarning(machine)].filter((x) => x !== undefined),
          ],
        },
        {
          title: `Concurrent SSE streams held through regiongate (a frame every ${settings.holdPaceMs} ms)`,
          headers: ['streams', 'opened', 'failed', 'stalls', 'gap p99 ms', 'RSS idle MB', 'RSS held MB', 'KB / stream', 'gateway CPU %', 'SYN drops', 'direct stalls', 'direct gap p99 ms'],
          rows: holds.map((h) => [
            int(h.level),
            int(h.regiongate.opened),
            int(h.regiongate.failed),
            int(h.regiongate.stalls),
            ms(h.regiongate.gap?.p99, 1),
            (h.rssIdle / 2 ** 20).toFixed(1),
            (h.rssHeld / 2 ** 20).toFixed(1),
            ((h.rssHeld - h.rssIdle) / 1024 / Math.max(1, h.regiongate.opened)).toFixed(1),
            h.cpuPercent.toFixed(0),
            int(h.regiongate.listenOverflows),
            h.direct ? int(h.direct.stalls) : '—',
            h.direct ? ms(h.direct.gap?.p99, 1) : '—',
          ]),
          notes: [
            `GET /sse-echo?frames=N&interval=${settings.holdPaceMs} through a fresh regiongate per level, streams opened at up to ${settings.rampPerSec}/s with at most 256 unanswered at a time (one connection each), then held ${settings.holdMs} ms. RSS idle: before the streams; RSS held: peak while held; KB / stream = (held − idle) / opened.`,
            `Stall: a gap > 2 × ${settings.holdPaceMs} ms during the hold, or a stream silent at its end. "direct" is the same load straight to the simulator: stalls there come from the harness (load generator and simulator share core 0), not from the gateway.`,
            'SYN drops: connections the kernel dropped because an accept queue was full (TcpExt ListenOverflows, machine-wide, during the regiongate run); a dropped SYN is retried after 1 s, so such streams open late.',
            `Levels default to 1k, 5k and the most the open-files limit (${machine.nofile}) allows at ${FDS_PER_STREAM} descriptors per stream in the gateway, up to 10k; --streams overrides.`,
          ],
        },
      ],
      raw: { rounds, summary, holds },
    };
  } finally {
    await stopSystems(systems);
    await loadgen.stop();
    await target.stop();
  }
}

/**
 * Hold `level` streams through a fresh regiongate (then, as a baseline, straight to the simulator).
 * @param {import('./lib/loadgen.mjs').Loadgen} loadgen
 * @param {string} simUrl
 * @param {number} level
 * @param {{ holdPaceMs: number, holdMs: number, rampPerSec: number }} s
 * @param {import('./lib/args.mjs').BenchArgs} args
 * @param {(line: string) => void} log
 */
async function holdLevel(loadgen, simUrl, level, s, args, log) {
  // Streams outlive the slowest allowed ramp (the open deadline) and the hold.
  const frames = Math.ceil(((level / s.rampPerSec) * 1000 + 20_000 + s.holdMs + 10_000) / s.holdPaceMs);
  const job = {
    kind: 'hold',
    path: `/sse-echo?frames=${frames}&interval=${s.holdPaceMs}`,
    headers: {},
    streams: level,
    rampPerSec: s.rampPerSec,
    holdMs: s.holdMs,
    paceMs: s.holdPaceMs,
  };
  const timeout = (level / s.rampPerSec) * 1000 + 20_000 + s.holdMs + 60_000;
  const gw = await startSystem('regiongate', { target: simUrl, label: `regiongate-hold-${level}`, nodeArgs: args.cpuProf ? cpuProfArgs(`hold-${level}`) : undefined });
  const pid = /** @type {number} */ (gw.pid);
  try {
    const problem = await smokeCheck(gw, { path: '/sse-echo?frames=2&interval=0', method: 'GET', headers: {}, expectType: 'text/event-stream' });
    if (problem) throw new Error(`regiongate hold smoke check: ${problem}`);
    await sleep(300);
    const rssIdle = rssBytes(pid);
    let rssHeld = rssIdle;
    let cpu0 = NaN;
    let t0 = 0;
    let cpuPercent = NaN;
    /** @type {NodeJS.Timeout | undefined} */
    let sampler;
    const overflows0 = listenOverflows();
    const regiongate = await loadgen.run({ ...job, origin: gw.url }, timeout, (/** @type {any} */ e) => {
      if (e.type === 'held') {
        cpu0 = cpuSeconds(pid);
        t0 = performance.now();
        sampler = setInterval(() => (rssHeld = Math.max(rssHeld, rssBytes(pid))), 250);
      } else if (e.type === 'hold-end') {
        clearInterval(sampler);
        rssHeld = Math.max(rssHeld, rssBytes(pid));
        cpuPercent = ((cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
      }
    });
    clearInterval(sampler);
    regiongate.listenOverflows = listenOverflows() - overflows0;
    log(`hold ${level}: regiongate opened ${regiongate.opened} failed ${regiongate.failed} stalls ${regiongate.stalls} gap p99 ${ms(regiongate.gap.p99, 1)} RSS ${(rssIdle / 2 ** 20).toFixed(1)} → ${(rssHeld / 2 ** 20).toFixed(1)} MB, CPU ${cpuPercent.toFixed(0)} %, client loop delay max ${ms(regiongate.clientLoopDelayMaxMs, 1)} ms, listen overflows ${regiongate.listenOverflows}`);
    await gw.stop();
    await sleep(500);
    const overflows1 = listenOverflows();
    const direct = await loadgen.run({ ...job, origin: simUrl }, timeout);
    direct.listenOverflows = listenOverflows() - overflows1;
    log(`hold ${level}: direct     opened ${direct.opened} failed ${direct.failed} stalls ${direct.stalls} gap p99 ${ms(direct.gap.p99, 1)}, client loop delay max ${ms(direct.clientLoopDelayMaxMs, 1)} ms, listen overflows ${direct.listenOverflows}`);
    await sleep(500);
    return { level, regiongate, direct, rssIdle, rssHeld, cpuPercent };
  } finally {
    await gw.stop();
  }
}

if (isMain(import.meta.url)) await runStandalone(stream);
