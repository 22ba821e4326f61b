/**
 * Preloaded (`--require`) into a system under the soak scenario: sums garbage-collection pauses by kind
 * from `PerformanceObserver` gc entries and writes them, with heap figures, to
 * `$RG_GC_PROBE_DIR/gc-<pid>.json` once a second, so the bench reads them from outside the process.
 */
'use strict';
const { writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');
const { PerformanceObserver, constants } = require('node:perf_hooks');

const dir = process.env.RG_GC_PROBE_DIR;
if (dir) {
  const totals = { minorMs: 0, minorCount: 0, majorMs: 0, majorCount: 0, maxPauseMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        totals.minorMs += e.duration;
        totals.minorCount++;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        totals.majorMs += e.duration;
        totals.majorCount++;
      }
      if (e.duration > totals.maxPauseMs) totals.maxPauseMs = e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const file = join(dir, `gc-${process.pid}.json`);
  setInterval(() => {
    const m = process.memoryUsage();
    writeFileSync(`${file}.tmp`, JSON.stringify({ ...totals, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, at: Date.now() }));
    renameSync(`${file}.tmp`, file);
  }, 1000).unref();
}
