/**
 * The benchmark peers (fastify, @fastify/http-proxy, the Portkey gateway) and autocannon live in
 * bench/package.json with their own lockfile, so the gateway's `npm ci` does not carry them. The first
 * bench run installs them with `npm ci --prefix bench`; later runs find bench/node_modules and do nothing.
 * Bench modules import them by bare name: Node resolves bench/node_modules before the root's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_MODULES = fileURLToPath(new URL('../node_modules', import.meta.url));

/** Install the bench's own dependencies once, when bench/node_modules is missing; throws if npm fails. */
export function ensureBenchDeps() {
  if (existsSync(BENCH_MODULES)) return;
  process.stdout.write('bench: first run, installing the benchmark peers (npm ci --prefix bench)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--prefix', BENCH_DIR, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm ci --prefix bench failed (${r.error?.message ?? `exit ${r.status}`})`);
}
