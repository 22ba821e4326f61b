// The generated references: docs/configuration.md and docs/errors.md are what `npm run docs` writes
// today (regenerated in memory here, no network), every config key a resolved config can hold has a row
// with a meaning, and every row names a real key. (Error codes: test/errors-doc.test.ts.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { z } from 'zod';
import { resolveConfig } from '../src/config/index.js';
import { configDocGaps } from '../src/docs/config-reference.js';
import { GENERATED_DOCS } from '../src/docs/generate.js';
import { schemaRows } from '../src/docs/schema-rows.js';
import { ROOT } from './helpers/built.js';

t.test('the generated docs are up to date (else: run npm run docs)', async (t) => {
  t.ok(GENERATED_DOCS.length >= 2, 'configuration.md and errors.md are generated');
  for (const doc of GENERATED_DOCS) {
    let onDisk = '';
    try {
      onDisk = readFileSync(join(ROOT, doc.path), 'utf8');
    } catch {
      // missing: fails below with the same advice
    }
    t.ok(onDisk === doc.render(), `${doc.path} is stale or missing: run npm run docs`);
  }
});

t.test('every schema key has a meaning in src/docs/config-key-docs.ts, and every entry is a key', async (t) => {
  const gaps = configDocGaps();
  t.same(gaps.undocumented, [], 'keys without a meaning');
  t.same(gaps.unknown, [], 'meanings of keys the schema does not have');
});

/** Key paths of a resolved config: `regions[].endpoints[].url`; lists of values and maps are leaves. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) {
    // Regions, endpoints and scheduled drills: the keys of every item (endpoints differ in their optional parts).
    return (prefix.endsWith('regions') || prefix.endsWith('endpoints') || prefix.endsWith('schedule')) && value.length > 0 ? value.flatMap((v: unknown) => keyPaths(v, `${prefix}[]`)) : [prefix];
  }
  if (value !== null && typeof value === 'object' && !prefix.endsWith('headers') && Object.keys(value).length > 0)
    return Object.entries(value).flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k));
  return [prefix];
}

t.test('docs/configuration.md documents every key a config can hold, and only those', async (t) => {
  // Every optional key set, so the resolved config holds every key of the schema.
  const full = resolveConfig(
    {
      gatewayId: 'gw-1',
      listen: { tls: { cert: 'l.pem', key: 'l.key', ca: 'clients.pem' } },
      drills: { schedule: [{ region: 'a', cadence: '1h', duration: '1m', mode: 'fault', fault: 'slow', percent: 10, delay: '1s' }] },
      admin: { token: 'readme-keys-token-0123456789', allowedHosts: ['gw.internal'] },
      state: { secret: 'a-fleet-secret-16+', redis: { sentinels: [{ host: 's', port: 26379 }], sentinelName: 'm', sentinelPassword: 'p', cluster: [{ host: 'c', port: 7000 }] } },
      retry: { hedge: { after: '1s' } },
      timeouts: { firstByte: '30s' },
      routing: { rules: [{ model: 'm', regions: ['a'] }] },
      regions: [
        {
          name: 'a',
          endpoints: [
            { id: 'x-1', url: 'https://x', tls: { ca: 'ca.pem', cert: 'c.pem', key: 'c.key', servername: 'x' }, loadSignals: { engine: 'vllm' }, credentials: { file: { path: '/t' } } },
            { url: 'https://y', credentials: { command: { argv: ['print-token'] } } },
            { url: 'https://z', credentials: { aws: { region: 'us-east-1', service: 'bedrock' } } },
          ],
        },
      ],
    },
    {},
  );
  const schemaKeys = [...new Set(keyPaths(full))].sort();
  const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  const documented = [...doc.matchAll(/^\|\s*`([A-Za-z][\w.[\]]*)`\s*\|/gm)].map((m) => m[1]);
  t.ok(documented.length > 100, 'the doc has tables of keys');
  for (const key of schemaKeys) t.ok(documented.includes(key), `docs/configuration.md documents ${key}`);
  // A row may also document a list or a choice that holds keys (`regions`, `regions[].endpoints[].credentials`).
  const exists = (key: string): boolean => schemaKeys.some((k) => k === key || k.startsWith(`${key}[].`) || k.startsWith(`${key}.`));
  for (const key of documented) t.ok(exists(key), `docs/configuration.md's ${key} exists in the schema`);
  t.equal(new Set(documented).size, documented.length, 'each key is documented once');
  for (const row of doc.split('\n').filter((l) => l.startsWith('| `'))) t.notMatch(row, '**undocumented**', row.slice(0, 60));
});

t.test('the reference shows defaults and types as the schema resolves them', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  const row = (key: string): string[] => {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
    return line === undefined ? [] : line.split(' | ').slice(1, 3);
  };
  const resolved = resolveConfig({ regions: [{ name: 'a', endpoints: [{ url: 'http://x' }] }] }, {});
  t.same(row('listen.port'), ['integer 0..65535', `\`${resolved.listen.port}\``]);
  t.same(row('timeouts.firstByteUnary'), ['duration', '`3m`'], `${resolved.timeouts.firstByteUnary} ms`);
  t.equal(resolved.timeouts.firstByteUnary, 180_000);
  t.same(row('timeouts.request'), ['duration > 0', '`5m`']);
  t.same(row('log.level'), ['`debug` \\| `info` \\| `warn` \\| `error` \\| `silent`', `\`${resolved.log.level}\``]);
  t.same(row('regions[].endpoints[].url'), ['http(s) URL', 'required']);
  t.same(row('timeouts.firstByte'), ['duration', 'none']);
});

t.test("a key's .describe() in the schema is its meaning when config-key-docs.ts has none", async (t) => {
  const rows = schemaRows(
    z.strictObject({
      reload: z.strictObject({ watch: z.boolean().default(false).describe('Re-read the file when it changes.') }).prefault({}),
      plain: z.string().optional(),
    }),
  );
  t.same(rows, [
    { key: 'reload.watch', type: 'boolean', default: '`false`', description: 'Re-read the file when it changes.' },
    { key: 'plain', type: 'string', default: 'none', description: undefined },
  ]);
});
