/**
 * Latency at a low constant rate over one keep-alive connection (concurrency 1), systems interleaved
 * in rounds with the order rotated each round. "Added" latency is the system's figure minus direct's
 * in the same round, so drift between rounds cancels out.
 */
import { rotated } from './args.mjs';
import { runClean } from './noise.mjs';
import { median } from './stats.mjs';

/**
 * @typedef {object} Req
 * @property {string} path
 * @property {'GET' | 'POST'} method
 * @property {Record<string, string>} headers
 * @property {string} [body]
 */

/**
 * @typedef {object} LatencySettings
 * @property {number} rounds
 * @property {number} rate
 * @property {number} warmupMs
 * @property {number} durationMs
 * @property {number} connections
 * @property {number[]} loadPids  the bench's processes on the load core (noise check)
 */

/**
 * @param {import('./loadgen.mjs').Loadgen} loadgen
 * @param {import('./peers.mjs').System[]} systems  `direct` among them
 * @param {Req} req
 * @param {LatencySettings} s
 * @param {(line: string) => void} log
 */
export async function latencyRounds(loadgen, systems, req, s, log) {
  /** @type {Record<string, any>[]} */
  const rounds = [];
  for (let r = 0; r < s.rounds; r++) {
    /** @type {Record<string, any>} */
    const row = {};
    for (const sys of rotated(systems, r)) {
      try {
        const job = () => loadgen.run(
          {
            kind: 'rate',
            origin: sys.url,
            path: req.path,
            method: req.method,
            headers: { ...req.headers, ...sys.headers },
            body: req.body,
            rate: s.rate,
            warmupMs: s.warmupMs,
            durationMs: s.durationMs,
            connections: s.connections,
          },
          s.warmupMs + s.durationMs + 20_000,
        );
        const { res, noisy, runs } = await runClean(job, { system: sys.pid, load: s.loadPids }, 1, log);
        row[sys.name] = { p50: res.latency.p50, p99: res.latency.p99, max: res.latency.max, ok: res.ok, errors: res.errors, errorKinds: res.errorKinds, lateP99: res.lateness.p99, noisy, runs };
        log(`round ${r + 1}/${s.rounds}  ${sys.name.padEnd(20)} p50 ${res.latency.p50.toFixed(3)}  p99 ${res.latency.p99.toFixed(3)} ms  ok ${res.ok}  errors ${res.errors}${noisy ? `  (noisy: ${noisy})` : ''}`);
      } catch (err) {
        row[sys.name] = { p50: NaN, p99: NaN, ok: 0, errors: NaN, failure: /** @type {Error} */ (err).message.split('\n')[0] };
        log(`round ${r + 1}/${s.rounds}  ${sys.name.padEnd(20)} FAILED: ${row[sys.name].failure}`);
      }
    }
    rounds.push(row);
  }
  /** @type {Record<string, { p50: number, p99: number, addedP50: number, addedP99: number, errors: number, requests: number, lateP99: number, noisyRounds: number }>} */
  const summary = {};
  for (const sys of systems) {
    const mine = rounds.map((row) => row[sys.name]);
    summary[sys.name] = {
      p50: median(mine.map((x) => x.p50)),
      p99: median(mine.map((x) => x.p99)),
      addedP50: median(rounds.map((row) => row[sys.name].p50 - row.direct?.p50)),
      addedP99: median(rounds.map((row) => row[sys.name].p99 - row.direct?.p99)),
      errors: mine.reduce((n, x) => n + (Number.isFinite(x.errors) ? x.errors : 0), 0),
      requests: mine.reduce((n, x) => n + x.ok, 0),
      lateP99: median(mine.map((x) => x.lateP99)),
      noisyRounds: mine.filter((x) => x.noisy).length,
    };
  }
  return { rounds, summary };
}

/**
 * Warm every system up before measuring (JIT, connection pools): `ms` at `rate` over a few
 * connections; results are discarded.
 * @param {import('./loadgen.mjs').Loadgen} loadgen
 * @param {import('./peers.mjs').System[]} systems
 * @param {Req} req
 * @param {{ ms: number, rate: number }} o
 */
export async function prime(loadgen, systems, req, o) {
  for (const sys of systems) {
    await loadgen
      .run(
        { kind: 'rate', origin: sys.url, path: req.path, method: req.method, headers: { ...req.headers, ...sys.headers }, body: req.body, rate: o.rate, warmupMs: 0, durationMs: o.ms, connections: 8 },
        o.ms + 20_000,
      )
      .catch(() => undefined);
  }
}
