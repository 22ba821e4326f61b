// Every error code is documented (like fastify's test/internals/errors.test.js): docs/errors.md (generated
// by `npm run docs`; test/docs.test.ts fails when it is stale) lists each code in ERROR_CODES once, with
// its HTTP status, and neither it, README.md nor any other doc under docs/ names a code that does not exist.
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError, ERROR_CODES, GatewayError, ListenError, UsageError, type ErrorCode } from '../src/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const docs = readdirSync(new URL('../docs/', import.meta.url))
  .filter((f) => f.endsWith('.md'))
  .map((f): [string, string] => [`docs/${f}`, readFileSync(new URL(`../docs/${f}`, import.meta.url), 'utf8')]);
const errorsDoc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

/** Rows `| \`RG_ERR_X\` | 503 | ... |` of docs/errors.md's table of HTTP errors, in order. */
function errorTable(): { code: string; status: number; cells: string[] }[] {
  const section = errorsDoc.split(/^## /m)[0];
  const rows: { code: string; status: number; cells: string[] }[] = [];
  for (const line of section.split('\n')) {
    const m = /^\|\s*`(RG_ERR_[A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|(.*)\|\s*$/.exec(line);
    if (m) rows.push({ code: m[1], status: Number(m[2]), cells: m[3].split('|').map((c) => c.trim()) });
  }
  return rows;
}

const rows = errorTable();
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

t.ok(rows.length > 0, 'docs/errors.md has a table of codes');

t.test('every code in ERROR_CODES is in the table with its status', async (t) => {
  for (const code of codes) {
    const row = rows.find((r) => r.code === code);
    if (!row) {
      t.fail(`${code} is not documented in docs/errors.md`);
      continue;
    }
    t.equal(row.status, ERROR_CODES[code].status, `${code} is documented as ${ERROR_CODES[code].status}`);
    t.ok(row.cells.length >= 2 && row.cells.every((c) => c.length > 0), `${code} has a meaning and a when/what-to-do`);
  }
});

t.test('the table lists no code that does not exist, and each code once', async (t) => {
  for (const row of rows) t.ok(row.code in ERROR_CODES, `${row.code} exists in ERROR_CODES`);
  t.equal(new Set(rows.map((r) => r.code)).size, rows.length, 'no code is listed twice');
});

t.test('no RG_ERR_ code mentioned anywhere in README.md or docs/*.md is made up', async (t) => {
  const known = new Set<string>([...codes, new ConfigError([]).code, new ListenError('main', '127.0.0.1', 0, undefined).code, new UsageError('').code]);
  t.ok(docs.some(([name]) => name === 'docs/routing.md'), 'the docs under docs/ are read');
  for (const [name, text] of [['README.md', readme], ...docs])
    for (const [code] of text.matchAll(/RG_ERR_[A-Z0-9_]+/g)) t.ok(known.has(code), `${name}: ${code} is a real code`);
});

t.test('the documented body shape is what GatewayError sends', async (t) => {
  const body = new GatewayError('RG_ERR_NO_ENDPOINT').toJSON();
  t.same(Object.keys(body.error).sort(), ['code', 'message', 'type']);
  t.equal(body.error.type, 'gateway_error');
  t.ok(errorsDoc.includes(JSON.stringify(body)), 'docs/errors.md shows the exact JSON body of RG_ERR_NO_ENDPOINT');
});
