// Every line the running gateway writes on stderr is JSON naming its gateway and worker (one process,
// and --workers 2 with its primary): listening (with the port actually bound for port 0), the access log,
// a config warning, the drain on SIGTERM, and the exit.
import t from 'tap';
import { request } from 'undici';
import { CLI_MISSING, startCli, writeConfig } from './helpers/built.js';
import { startSim } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

interface Line {
  time: string;
  level: string;
  event: string;
  gatewayId: string;
  worker: number;
  msg?: string;
  url?: string;
  host?: string;
  port?: number;
  requestId?: string;
}

/** Every line of `stderr` parsed; a line that is not JSON fails the test naming it. */
function parseLines(t: { fail(message: string): unknown }, stderr: string): Line[] {
  const out: Line[] = [];
  for (const line of stderr.split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as Line);
    } catch {
      t.fail(`a stderr line is not JSON: ${line}`);
    }
  }
  return out;
}

for (const workers of [1, 2]) {
  t.test(`${workers === 1 ? 'one process' : '--workers 2'}: every stderr line is JSON with gateway id and worker`, { skip: CLI_MISSING }, async (t) => {
    const sim = await startSim(t, { name: 'r' });
    const file = writeConfig(t, [
      'gatewayId: gw-json',
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      'health: { probes: false }',
      'regions:',
      // A placeholder credential: the config warning is a line of its own.
      `  - { name: r, endpoints: [{ url: "${sim.url}", headers: { authorization: "Bearer sk-example" } }] }`,
    ]);
    const cli = startCli(t, ['start', '--config', file, ...(workers > 1 ? ['--workers', String(workers)] : [])]);
    const listening = (): Line[] => parseLines(t, cli.stderr().split('\n').filter((l) => l.includes('"process.listening"')).join('\n'));
    await waitUntil(`${workers} listening`, () => listening().length >= workers, 60_000);
    const first = listening()[0];
    t.ok(first.port !== undefined && first.port > 0, 'port 0 resolved to the bound port');
    t.equal(first.url, `http://127.0.0.1:${first.port}`, 'the url names the bound address');
    t.equal(first.host, '127.0.0.1');
    const res = await request(`${first.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-json-1' },
      body: JSON.stringify({ model: 'm', messages: [] }),
      reset: true,
    });
    t.equal(res.statusCode, 200, 'the listening line names a port that answers');
    await res.body.dump();
    await cli.waitFor(/"requestId":"req-json-1"/);
    cli.child.kill('SIGTERM');
    t.same(await cli.exited, { code: 0, signal: null });

    const lines = parseLines(t, cli.stderr());
    for (const l of lines) {
      t.ok(typeof l.time === 'string' && typeof l.level === 'string' && typeof l.event === 'string', `time, level, event: ${l.event}`);
      t.match(l.gatewayId, /^gw-json/, `${l.event} names the gateway`);
      t.type(l.worker, 'number', `${l.event} names the worker`);
    }
    const workerIds = new Set(listening().map((l) => l.worker));
    t.equal(workerIds.size, workers, 'each worker names itself');
    if (workers > 1) t.notOk(workerIds.has(0), 'workers are numbered from 1; 0 is the primary');
    t.ok(lines.some((l) => l.event === 'process.warning' && /WARNING: .*authorization/.test(l.msg ?? '')), 'the config warning');
    t.ok(lines.some((l) => l.event === 'http.access' && l.requestId === 'req-json-1'), 'the access line');
    t.ok(lines.some((l) => l.event === 'process.shutdown' && l.msg === 'SIGTERM: draining'), 'the drain');
  });
}
