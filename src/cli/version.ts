/**
 * The version `regiongate --version` prints, read from the package's own package.json at run time so it
 * can never drift from what npm installed (dist/cli/version.js and src/cli/version.ts both sit two
 * levels below the package root; the Docker image copies package.json next to dist/).
 */
import { readFileSync } from 'node:fs';

const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

/** `name` and `version` of the installed package. */
export function packageVersion(): { name: string; version: string } {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { name?: unknown; version?: unknown };
  return { name: String(pkg.name), version: String(pkg.version) };
}
