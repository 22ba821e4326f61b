/**
 * The load-generator process (started by `loadgen.mjs`, pinned to the load core). It takes one job at
 * a time over IPC and answers with its result; progress events of a job are sent as they happen.
 */
import { runRate } from './open-loop.mjs';
import { holdStreams, runStreams } from './sse-streams.mjs';

/** @type {Record<string, (job: any, notify: (e: Record<string, unknown>) => void) => Promise<unknown>>} */
const JOBS = {
  rate: (job) => runRate(job),
  streams: (job) => runStreams(job),
  hold: (job, notify) => holdStreams(job, notify),
  autocannon: (job) => runAutocannon(job),
};

/** Closed-loop maximum (the fallback ceiling probe when wrk is not installed). */
async function runAutocannon(/** @type {any} */ job) {
  // @ts-ignore -- autocannon ships no type declarations
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({
    url: job.url,
    method: job.method,
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    pipelining: 1,
    duration: job.durationS,
    timeout: 5,
  });
  const seconds = r.duration || job.durationS;
  return { rps: r.requests.average, okRps: r['2xx'] / seconds, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

process.on('message', (/** @type {{ id: number, job: { kind: string } }} */ msg) => {
  const run = JOBS[msg.job.kind];
  const notify = (/** @type {Record<string, unknown>} */ event) => process.send?.({ id: msg.id, event });
  Promise.resolve()
    .then(() => {
      if (!run) throw new Error(`unknown job kind "${msg.job.kind}"`);
      return run(msg.job, notify);
    })
    .then(
      (result) => process.send?.({ id: msg.id, result }),
      (err) => process.send?.({ id: msg.id, error: String(err?.stack ?? err) }),
    );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
