/**
 * Memory and CPU of a process from /proc (Linux): resident set size and CPU seconds used.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond = 0;

/** Resident set size of `pid` in bytes (NaN when unavailable). */
export function rssBytes(/** @type {number} */ pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) used so far by `pid` (NaN when unavailable). */
export function cpuSeconds(/** @type {number} */ pid) {
  try {
    if (ticksPerSecond === 0) ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return NaN;
  }
}

/** Connections dropped machine-wide because a listener's accept queue was full (TcpExt ListenOverflows). */
export function listenOverflows() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const names = lines.find((l) => l.startsWith('TcpExt:'))?.split(' ');
    const values = lines.filter((l) => l.startsWith('TcpExt:'))[1]?.split(' ');
    const i = names?.indexOf('ListenOverflows') ?? -1;
    return i > 0 && values ? Number(values[i]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Machine-wide network counters that betray a struggling host: TCP segments retransmitted, SYNs
 * dropped by full accept queues, and packets dropped by a full per-CPU input backlog (on loopback a
 * drop costs a 200 ms retransmission timeout).
 */
export function netCounters() {
  let retransSegs = NaN;
  let backlogDrops = NaN;
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
    const i = lines[0].split(' ').indexOf('RetransSegs');
    retransSegs = Number(lines[1].split(' ')[i]);
  } catch {
    // not Linux
  }
  try {
    backlogDrops = readFileSync('/proc/net/softnet_stat', 'utf8')
      .trim()
      .split('\n')
      .reduce((n, line) => n + parseInt(line.trim().split(/\s+/)[1], 16), 0);
  } catch {
    // not Linux
  }
  return { retransSegs, listenOverflows: listenOverflows(), backlogDrops };
}

/** `b - a` per counter. */
export function netDelta(/** @type {ReturnType<typeof netCounters>} */ a, /** @type {ReturnType<typeof netCounters>} */ b) {
  return { retransSegs: b.retransSegs - a.retransSegs, listenOverflows: b.listenOverflows - a.listenOverflows, backlogDrops: b.backlogDrops - a.backlogDrops };
}
