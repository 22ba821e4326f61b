/**
 * Where regiongate's CPU time goes, from the V8 profiles `--cpu-prof` wrote: self time by area
 * (regiongate's own code, undici, Node's http/net/streams, GC) and the hottest functions.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOP = Number(process.env.RG_PROFILE_TOP ?? 15);

/** The area a profile node's code belongs to. */
function area(/** @type {{ functionName: string, url: string }} */ f) {
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(idle)') return 'idle';
  if (f.functionName === '(program)') return 'V8/native (program)';
  if (f.url.includes('/dist/')) return 'regiongate (dist/)';
  if (f.url.includes('node_modules/undici/')) return 'undici';
  if (f.url.startsWith('node:')) return /node:(_http|http|net|stream|internal\/streams|internal\/http)/.test(f.url) ? 'node http/net/streams' : 'node other';
  if (f.url.includes('node_modules/')) return 'other packages';
  return f.url === '' ? 'V8 builtins / native' : 'other';
}

/**
 * Summarize every profile in `dir` written after `sinceMs` (0: all).
 * @param {string} dir
 * @param {number} sinceMs
 */
export function summarizeProfiles(dir, sinceMs = 0) {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= sinceMs);
  if (files.length === 0) return undefined;
  /** @type {Map<string, number>} */
  const byArea = new Map();
  /** @type {Map<string, number>} */
  const byFn = new Map();
  let busy = 0;
  for (const file of files) {
    const prof = JSON.parse(readFileSync(file, 'utf8'));
    /** @type {Map<number, any>} */
    const nodes = new Map(prof.nodes.map((/** @type {any} */ n) => [n.id, n]));
    /** @type {Map<number, number>} */
    const self = new Map();
    prof.samples.forEach((/** @type {number} */ id, /** @type {number} */ i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
    for (const [id, us] of self) {
      const f = nodes.get(id).callFrame;
      const a = area(f);
      if (a === 'idle') continue;
      busy += us;
      byArea.set(a, (byArea.get(a) ?? 0) + us);
      const where = f.url ? `${relative(ROOT, f.url.replace(/^file:\/\//, '')) || f.url}:${f.lineNumber + 1}` : '';
      const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
      byFn.set(key, (byFn.get(key) ?? 0) + us);
    }
  }
  const pct = (/** @type {number} */ us) => `${((100 * us) / busy).toFixed(1)}%`;
  const areas = [...byArea].sort((a, b) => b[1] - a[1]);
  const fns = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  return {
    table: {
      title: 'regiongate CPU profile (self time, idle excluded)',
      headers: ['area / function', 'self'],
      rows: [...areas.map(([a, us]) => [`**${a}**`, pct(us)]), ...fns.map(([f, us]) => [`\`${f}\``, pct(us)])],
      notes: [`${files.length} profile(s) from --cpu-prof, ${(busy / 1e6).toFixed(2)} s busy CPU in total.`],
    },
    raw: { files: files.map((f) => relative(ROOT, f)), busyUs: busy, areas: Object.fromEntries(areas), top: Object.fromEntries(fns) },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../results/prof/', import.meta.url));
  const s = summarizeProfiles(dir);
  if (!s) process.stdout.write(`no .cpuprofile in ${dir}\n`);
  else for (const [name, v] of s.table.rows) process.stdout.write(`${String(v).padStart(7)}  ${name}\n`);
}
