/**
 * What machine the bench ran on (printed in RESULTS.md) and which native tools it can use.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';

/** sbin folders are searched too: nginx and haproxy live there and a non-root PATH may omit them. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * The absolute path of `cmd` on PATH, or undefined.
 * @param {string} cmd
 */
export function onPath(cmd) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The hard limit on open files of processes started from here (what a child can raise itself to). */
export function nofileHardLimit() {
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : r.stdout?.trim() === 'unlimited' ? Infinity : 1024;
}

/** Version line of a native tool, or undefined. */
function versionOf(/** @type {string} */ cmd, /** @type {string[]} */ args) {
  const file = onPath(cmd);
  if (!file) return undefined;
  const r = spawnSync(file, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '')?.trim();
}

/** @typedef {Awaited<ReturnType<typeof machineNow>>} Machine */

/** Background CPU use above this share counts as a busy machine. */
const IDLE_BUSY = 0.1;

/** The machine and how busy it is right now (samples the CPU for a second), for the results. */
export async function machineNow(waitIdleS = 0) {
  let busy = await backgroundBusy(1000);
  const deadline = Date.now() + waitIdleS * 1000;
  if (busy > IDLE_BUSY && waitIdleS > 0) {
    process.stdout.write(`machine busy (${(busy * 100).toFixed(0)} % CPU used by other processes): waiting up to ${waitIdleS} s for it to calm down\n`);
    while (busy > IDLE_BUSY && Date.now() < deadline) busy = await backgroundBusy(1000);
    process.stdout.write(`  ${busy > IDLE_BUSY ? 'still' : 'now'} ${(busy * 100).toFixed(0)} % busy: starting\n`);
  }
  return { ...machineInfo(), backgroundBusy: Number.isFinite(busy) ? Number(busy.toFixed(3)) : undefined };
}

/** The machine, for the results header. */
export function machineInfo() {
  return {
    cpu: cpus()[0]?.model?.trim() ?? 'unknown',
    // cpus(), not availableParallelism(): the latter shrinks to 1 once this process is pinned.
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    nofile: nofileHardLimit(),
    taskset: onPath('taskset') !== undefined,
    nginx: versionOf('nginx', ['-v']),
    haproxy: versionOf('haproxy', ['-v']),
    wrk: versionOf('wrk', ['--version']),
    /** 1-minute load average when the scenario started: other processes competing for the cores. */
    load1: Number(loadavg()[0].toFixed(2)),
    date: new Date().toISOString(),
  };
}

/** Busy and total CPU time of all cores so far (jiffies, from /proc/stat), or undefined off Linux. */
function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * How busy the machine is before the bench starts anything: the share of all cores' time spent busy
 * over `ms` (other people's builds and tests make every figure noisier). NaN off Linux.
 */
export async function backgroundBusy(ms = 1000) {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  if (!a || !b || b.total === a.total) return NaN;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * A warning when other work kept the machine busy (CPU busy before the scenario above 10 %, or a load
 * average above a third of the cores), else undefined.
 * @param {{ load1: number, cores: number, backgroundBusy?: number }} m
 */
export function busyWarning(m, load1End = loadavg()[0]) {
  const busy = m.backgroundBusy ?? NaN;
  if (!(busy > IDLE_BUSY) && Math.max(m.load1, load1End) <= m.cores / 3) return undefined;
  const pct = Number.isFinite(busy) ? `${(busy * 100).toFixed(0)} % of CPU busy before the scenario started, ` : '';
  return `the machine was busy with other work (${pct}1-min load average ${m.load1.toFixed(2)} at start, ${load1End.toFixed(2)} at end, ${m.cores} cores): figures are noisier than on an idle machine.`;
}
