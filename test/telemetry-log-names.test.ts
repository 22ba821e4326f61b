// Log event names come from one table (LOG_EVENT in src/telemetry/names.ts): no logger call in src/
// names its event with a string literal, and no two table entries share a name.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { LOG_EVENT } from '../src/telemetry/names.js';

const SRC = new URL('../src/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

t.test('no logger call writes its event name as a literal', async (t) => {
  const literal = /\b(?:log|logger|#log|#logger)\??\.(?:debug|info|warn|error)\(\s*['"`]/;
  const offenders: string[] = [];
  for (const file of sources(SRC)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (literal.test(line)) offenders.push(`${file.slice(SRC.length)}:${i + 1}`);
      });
  }
  t.same(offenders, [], 'use LOG_EVENT.* instead');
});

t.test('LOG_EVENT names are unique', async (t) => {
  const names = Object.values(LOG_EVENT);
  t.equal(new Set(names).size, names.length);
});
