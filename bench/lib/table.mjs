/**
 * Markdown tables and number formats for the results.
 */

/**
 * @typedef {object} Table
 * @property {string} title
 * @property {string[]} headers
 * @property {(string | number)[][]} rows
 * @property {string[]} [notes]
 */

/**
 * A GitHub-flavoured markdown table; numeric columns are right-aligned.
 * @param {Table} t
 */
export function markdownTable(t) {
  const cells = t.rows.map((r) => r.map(String));
  const widths = t.headers.map((h, i) => Math.max(h.length, 3, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = t.headers.map((_, i) => i > 0 && cells.length > 0 && cells.every((r) => /^(≥ )?[-+]?[\d.,]+( ?[a-zA-Z%×µ/]*)?$|^\d+\/\d+$|^—$|^n\/a$/.test(r[i] ?? '')));
  const line = (/** @type {string[]} */ r) =>
    `| ${r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  const out = [`### ${t.title}`, '', line(t.headers), rule, ...cells.map(line)];
  if (t.notes?.length) out.push('', ...t.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

/** Milliseconds with 3 decimals, or an em dash. */
export function ms(/** @type {number | undefined} */ v, digits = 3) {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

/** A signed difference in ms (`+0.084`). */
export function plusMs(/** @type {number | undefined} */ v, digits = 3) {
  return v === undefined || !Number.isFinite(v) ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

/** A whole number with thousands separators. */
export function int(/** @type {number | undefined} */ v) {
  return v === undefined || !Number.isFinite(v) ? '—' : Math.round(v).toLocaleString('en-US');
}

/** A ratio such as `1.42×`. */
export function ratio(/** @type {number | undefined} */ a, /** @type {number | undefined} */ b) {
  return a === undefined || b === undefined || !(a > 0) || !(b > 0) ? '—' : `${(a / b).toFixed(2)}×`;
}
