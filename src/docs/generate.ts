/**
 * `npm run docs`: writes the generated references under docs/. Deterministic (no dates, no machine
 * facts), so test/docs.test.ts can regenerate them in memory and fail when the files are stale.
 * Exits 1, after writing, when a config key has no meaning in src/docs/config-key-docs.ts.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configDocGaps, renderConfigurationDoc } from './config-reference.js';
import { renderErrorsDoc } from './error-reference.js';

/** Each generated file, relative to the package root, and how it is made. */
export const GENERATED_DOCS: readonly { readonly path: string; readonly render: () => string }[] = [
  { path: 'docs/configuration.md', render: renderConfigurationDoc },
  { path: 'docs/errors.md', render: renderErrorsDoc },
];

const ROOT = new URL('../../', import.meta.url);

function generate(): number {
  for (const doc of GENERATED_DOCS) {
    writeFileSync(new URL(doc.path, ROOT), doc.render());
    process.stdout.write(`wrote ${doc.path}\n`);
  }
  const gaps = configDocGaps();
  for (const key of gaps.undocumented) process.stderr.write(`docs: config key ${key} has no meaning in src/docs/config-key-docs.ts\n`);
  for (const key of gaps.unknown) process.stderr.write(`docs: src/docs/config-key-docs.ts describes ${key}, which the schema does not have\n`);
  return gaps.undocumented.length + gaps.unknown.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = generate();
