// Signals sent twice do not kill a drain half-way: a stream in flight through dist/cli.js (one process,
// and --workers 2) finishes completely after SIGTERM, SIGTERM, and the process exits 0.
import t from 'tap';
import { request } from 'undici';
import { CLI_MISSING, startCli, writeConfig } from './helpers/built.js';
import { startSim } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

for (const workers of [1, 2]) {
  t.test(`${workers === 1 ? 'one process' : '--workers 2'}: SIGTERM twice during a stream still drains it and exits 0`, { skip: CLI_MISSING }, async (t) => {
    const sim = await startSim(t, { name: 'r', tokens: 40, tokenIntervalMs: 50 });
    const file = writeConfig(t, [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { host: 127.0.0.1, port: 0 }',
      'log: { level: warn }',
      'health: { probes: false }',
      'regions:',
      `  - { name: r, endpoints: [{ url: "${sim.url}" }] }`,
    ]);
    const cli = startCli(t, ['start', '--config', file, ...(workers > 1 ? ['--workers', String(workers)] : [])]);
    await waitUntil(`${workers} listening`, () => (cli.stderr().match(/listening on/g) ?? []).length >= workers, 60_000);
    const url = /listening on (http:\/\/\S+?)[,\s]/.exec(cli.stderr())?.[1] ?? '';
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [] }),
      reset: true,
    });
    t.equal(res.statusCode, 200);
    const text = res.body.text();
    // The first chunk arrived: the stream is in flight in the gateway.
    await waitUntil('the stream under way', () => sim.stats.requests > 0, 10_000);
    cli.child.kill('SIGTERM');
    await cli.waitFor(/SIGTERM: draining/);
    cli.child.kill('SIGTERM');
    await cli.waitFor(/SIGTERM: already draining/);
    const body = await text;
    t.match(body, /data: \[DONE\]\n\n$/, 'the stream finished completely');
    t.same(await cli.exited, { code: 0, signal: null }, 'exit 0 after the drain');
  });
}
