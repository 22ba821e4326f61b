// A rolling restart loses no request: two gateways (dist/cli.js) behind nginx and behind HAProxy, set up
// as docs/operations.md says, POST load at concurrency 8, gateway A stopped with SIGTERM and started
// again twice. Every request must be answered 200 (nginx does not resend a POST once sent, so a
// keep-alive connection the gateway closes under it would surface as a 502). The load is bounded in
// count and time.
import type { IncomingMessage, ServerResponse } from 'node:http';
import t, { type Test } from 'tap';
import { Pool } from 'undici';
import { HAPROXY_SKIP, NGINX_SKIP, startHaproxy, startNginx, type Balancer } from './helpers/balancers.js';
import { CLI_MISSING, startCli, writeConfig, type CliProcess } from './helpers/built.js';
import { startUpstream } from './helpers/gateway.js';
import { freePort, waitUntil, type Teardown } from './helpers/redis-server.js';

/** Requests per gateway, counted by the upstream from the header each gateway adds. */
interface Upstream {
  readonly url: string;
  readonly served: Map<string, number>;
}

async function countingUpstream(t: Teardown): Promise<Upstream> {
  const served = new Map<string, number>();
  const body = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }] });
  const { url } = await startUpstream(t, (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const via = String(req.headers['x-via']);
      served.set(via, (served.get(via) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return { url, served };
}

function gatewayConfig(t: Teardown, name: string, port: number, upstream: string, drainDelay: string): string {
  return writeConfig(t, [
    `listen: { host: 127.0.0.1, port: ${port} }`,
    'admin: { enabled: false }',
    'log: { level: warn }',
    'health: { probes: false }',
    `timeouts: { drain: 20s, drainDelay: ${drainDelay} }`,
    'regions:',
    `  - { name: r, endpoints: [{ url: "${upstream}", headers: { x-via: ${name} } }] }`,
  ]);
}

/** Closed-loop POST load through `lb` until `stop()` or `maxRequests`; every non-200 is recorded. */
function startLoad(lb: Balancer, concurrency: number, maxRequests: number) {
  const pool = new Pool(lb.url, { connections: concurrency, pipelining: 1 });
  let sent = 0;
  let ok = 0;
  const t0 = performance.now();
  let stopped = false;
  const failures: string[] = [];
  const loop = async (): Promise<void> => {
    while (!stopped && sent < maxRequests) {
      sent++;
      try {
        const res = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"model":"m","messages":[{"role":"user","content":"hi"}]}',
        });
        const text = await res.body.text();
        if (res.statusCode === 200) ok++;
        else failures.push(`${(performance.now() - t0).toFixed(0)}ms ${res.statusCode} ${String(res.headers['x-regiongate-error'] ?? '')} ${text.slice(0, 200)}`);
      } catch (err) {
        failures.push(`${(performance.now() - t0).toFixed(0)}ms client error ${(err as Error).message}`);
      }
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, loop));
  return {
    failures,
    get ok() {
      return ok;
    },
    get sent() {
      return sent;
    },
    async stop(): Promise<void> {
      stopped = true;
      await done;
      await pool.close();
    },
  };
}

async function rollingRestart(t: Test, start: (t: Teardown, backends: string[]) => Promise<Balancer>, drainDelay: string): Promise<void> {
  const upstream = await countingUpstream(t);
  const ports = { A: await freePort(), B: await freePort() };
  const files = { A: gatewayConfig(t, 'A', ports.A, upstream.url, drainDelay), B: gatewayConfig(t, 'B', ports.B, upstream.url, drainDelay) };
  const launch = async (name: 'A' | 'B'): Promise<CliProcess> => {
    const cli = startCli(t, ['start', '--config', files[name]]);
    await cli.waitFor(/listening on/);
    return cli;
  };
  let a = await launch('A');
  await launch('B');
  const lb = await start(t, [`127.0.0.1:${ports.A}`, `127.0.0.1:${ports.B}`]);
  // Bounded: at most 40,000 requests, and the phases below each wait on events with their own limits.
  const load = startLoad(lb, 8, 40_000);
  const t0 = performance.now();
  const servedBy = (name: string): number => upstream.served.get(name) ?? 0;
  try {
    await waitUntil('both gateways serving', () => servedBy('A') >= 200 && servedBy('B') >= 200, 30_000);
    for (let round = 1; round <= 2; round++) {
      t.comment(`${(performance.now() - t0).toFixed(0)}ms SIGTERM A`);
      a.child.kill('SIGTERM');
      const exit = await a.exited;
      t.comment(`${(performance.now() - t0).toFixed(0)}ms A exited; its stderr: ${a.stderr()}`);
      t.same(exit, { code: 0, signal: null }, `round ${round}: A drains and exits 0`);
      const before = servedBy('A');
      a = await launch('A');
      await waitUntil(`round ${round}: the restarted A serving`, () => servedBy('A') >= before + 200, 60_000);
    }
  } finally {
    await load.stop();
  }
  t.ok(load.sent < 40_000 || load.failures.length === 0, `${load.sent} requests sent`);
  t.same(load.failures.slice(0, 10), [], `no request lost of ${load.sent} (${load.failures.length} failed)`);
  t.equal(load.ok, load.sent, 'every request answered 200');
  if (load.failures.length > 0) t.comment(lb.log());
}


t.test('rolling restart behind nginx (passive checks, default proxy_next_upstream) loses no request', { skip: CLI_MISSING || NGINX_SKIP, timeout: 240_000 }, (t) =>
  rollingRestart(t, startNginx, '0s'),
);

t.test('rolling restart behind HAProxy (active /readyz checks) loses no request', { skip: CLI_MISSING || HAPROXY_SKIP, timeout: 240_000 }, (t) =>
  rollingRestart(t, startHaproxy, '2s'),
);
