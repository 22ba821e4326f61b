/**
 * The closed-loop ceiling of a system (max req/s with a fixed number of connections, no latency
 * bound): where the open-loop throughput search starts. wrk when installed (C, cheap on the load
 * core), else autocannon inside the load-generator process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORES, pinPrefix } from './children.mjs';
import { onPath } from './machine.mjs';

/**
 * @param {import('./loadgen.mjs').Loadgen} loadgen
 * @param {{ url: string, path: string, method: string, headers: Record<string, string>, body: string }} req
 * @param {{ durationS: number, connections: number }} o
 * @returns {Promise<{ tool: string, rps: number, errors: number, firstError?: string }>}
 */
export async function closedLoopCeiling(loadgen, req, o) {
  if (onPath('wrk')) return wrkCeiling(req, o);
  const r = await loadgen.run(
    { kind: 'autocannon', url: `${req.url}${req.path}`, method: req.method, headers: req.headers, body: req.body, connections: o.connections, durationS: o.durationS },
    o.durationS * 1000 + 15_000,
  );
  return { tool: 'autocannon', rps: r.okRps, errors: r.non2xx + r.errors };
}

/** Lua long strings cannot contain their own closing bracket; this level never appears in JSON. */
const luaString = (/** @type {string} */ s) => `[==[${s}]==]`;

async function wrkCeiling(/** @type {any} */ req, /** @type {{ durationS: number, connections: number }} */ o) {
  const dir = mkdtempSync(join(tmpdir(), 'rg-bench-wrk-'));
  const script = join(dir, 'request.lua');
  writeFileSync(
    script,
    [
      `wrk.method = "${req.method}"`,
      `wrk.body = ${luaString(req.body)}`,
      ...Object.entries(req.headers).map(([k, v]) => `wrk.headers[ ${luaString(k)} ] = ${luaString(String(v))}`),
      // Show the first failed answer, to say why a system errs under load.
      'response = function(status, headers, body) if status >= 300 and not shown then shown = true; io.write("FIRST-ERROR ", status, " ", (string.sub(body or "", 1, 160):gsub("\\n", " ")), "\\n") end end',
    ].join('\n'),
  );
  const argv = [...pinPrefix(CORES.load), 'wrk', '-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', '5s', '-s', script, `${req.url}${req.path}`];
  try {
    const out = await new Promise((resolve, reject) => {
      const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.stderr.on('data', (d) => (text += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), o.durationS * 1000 + 15_000);
      p.once('error', reject);
      p.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(text);
        else reject(new Error(`wrk exited ${code}: ${text}`));
      });
    });
    const text = /** @type {string} */ (out);
    const done = /(\d+) requests in ([\d.]+)(m?s)/.exec(text);
    const non2xx = Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(text)?.[1] ?? 0);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
    const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
    const seconds = done ? Number(done[2]) / (done[3] === 'ms' ? 1000 : 1) : NaN;
    // Successful answers per second: a system answering errors fast has no ceiling worth the name.
    const rps = done ? Math.max(0, Number(done[1]) - non2xx) / seconds : NaN;
    return { tool: 'wrk', rps, errors, firstError: /^FIRST-ERROR (.*)$/m.exec(text)?.[1] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
