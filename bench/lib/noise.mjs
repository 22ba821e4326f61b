/**
 * Is a measurement clean? On a shared machine other processes steal the cores now and then. Around
 * each load job this watches both cores: CPU time used on the system core (1) by anything but the
 * system under test, and on the load core (0) by anything but the bench's own processes there (load
 * generator, targets, orchestrator). A job during which either share was high is re-run, a bounded
 * number of times.
 */
import { readFileSync } from 'node:fs';
import { CORES, canPin } from './children.mjs';
import { cpuSeconds } from './proc-stats.mjs';

/** Other processes used more than this share of a core during the job. */
export const FOREIGN_SHARE_LIMIT = 0.15;
const USER_HZ = 100;

/** user + nice + system time of one core so far, in seconds (NaN when unknown). */
function coreBusySeconds(/** @type {number} */ core) {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${core} `));
    if (!line) return NaN;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2]) / USER_HZ;
  } catch {
    return NaN;
  }
}

/** CPU seconds used so far by all of `pids`. */
const ownSeconds = (/** @type {readonly number[]} */ pids) => pids.reduce((n, pid) => n + (cpuSeconds(pid) || 0), 0);

/**
 * @typedef {object} Owners
 * @property {number | undefined} system  the system under test on core 1 (undefined for direct)
 * @property {readonly number[]} load     the bench's processes on core 0 (this one included)
 */

/**
 * Start watching both cores; `stop()` returns the share of each used by other processes.
 * @param {Owners} owners
 */
export function watchCores(owners) {
  const t0 = performance.now();
  const sys = owners.system === undefined ? [] : [owners.system];
  const load = [process.pid, ...owners.load];
  const core0 = [coreBusySeconds(CORES.system), coreBusySeconds(CORES.load)];
  const own0 = [ownSeconds(sys), ownSeconds(load)];
  return () => {
    if (!canPin) return { system: NaN, load: NaN };
    const wall = (performance.now() - t0) / 1000;
    const share = (/** @type {number} */ i, /** @type {number} */ core, /** @type {readonly number[]} */ pids) =>
      Math.max(0, (coreBusySeconds(core) - core0[i] - (ownSeconds(pids) - own0[i])) / wall);
    return {
      // Nothing of ours runs on the system core for direct: other work there cannot disturb it.
      system: owners.system === undefined ? 0 : share(0, CORES.system, sys),
      load: share(1, CORES.load, load),
    };
  };
}

/**
 * Why a job's figures are suspect, or undefined when it ran clean.
 * @param {{ system: number, load: number }} foreign
 */
export function noiseReason(foreign) {
  if (foreign.system > FOREIGN_SHARE_LIMIT) return `${(foreign.system * 100).toFixed(0)} % of the system core used by other processes`;
  if (foreign.load > FOREIGN_SHARE_LIMIT) return `${(foreign.load * 100).toFixed(0)} % of the load core used by other processes`;
  return undefined;
}

/**
 * Run `job` until it runs clean, at most `1 + retries` times; returns the last run with its noise.
 * @template T
 * @param {() => Promise<T>} job
 * @param {Owners} owners
 * @param {number} retries
 * @param {(line: string) => void} [log]
 * @returns {Promise<{ res: T, noisy: string | undefined, runs: number }>}
 */
export async function runClean(job, owners, retries, log) {
  for (let run = 1; ; run++) {
    const stop = watchCores(owners);
    const res = await job();
    const noisy = noiseReason(stop());
    if (!noisy || run > retries) return { res, noisy, runs: run };
    log?.(`      noisy run (${noisy}): again`);
  }
}
