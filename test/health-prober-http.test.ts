// The real probe on real sockets: undici GETs to origin + base path + probe path on a node:http
// upstream on 127.0.0.1:0, the system clock, a 100 ms interval, our own timeout on a hung answer.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { systemClock } from '../src/util/clock.js';
import { seededRandom } from '../src/util/random.js';
import { createHttpProbe, HealthTracker, Prober, type HealthTransition, type ProbeResult } from '../src/health/index.js';
import { healthOptions } from './helpers/config-sections.js';
import { testEndpoint } from './helpers/endpoints.js';

t.test('probes a real upstream: path, headers, thresholds, timeout', async (t) => {
  let status = 503;
  const seen: { url: string | undefined; headers: IncomingHttpHeaders }[] = [];
  const hung: ServerResponse[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    if (req.url?.startsWith('/hang')) {
      hung.push(res); // never answered
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const live = testEndpoint('live', { origin, basePath: '/v1', headers: [['authorization', 'Bearer probe-secret']] });
  const stuck = testEndpoint('stuck', { origin, basePath: '/hang' });

  const http = createHttpProbe({ path: '/health', connectTimeout: healthOptions().timeout });
  const results: ProbeResult[] = [];
  const waiters: { test: (r: ProbeResult) => boolean; resolve: () => void }[] = [];
  const until = (test: (r: ProbeResult) => boolean): Promise<void> => new Promise((resolve) => waiters.push({ test, resolve }));
  const changes: string[] = [];
  const prober = new Prober({
    endpoints: [live, stuck],
    clock: systemClock,
    random: seededRandom(3),
    options: healthOptions({ interval: 100, timeout: 150, jitter: 0.1, healthyThreshold: 2, unhealthyThreshold: 2 }),
    probe: http.probe,
    onChange: (e, up) => changes.push(`${e.id}:${up ? 'up' : 'down'}`),
    onResult: (r) => {
      results.push(r);
      for (const w of waiters.splice(0)) if (w.test(r)) w.resolve();
      else waiters.push(w);
    },
  });
  t.teardown(async () => {
    prober.close();
    await http.close();
    for (const res of hung) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  prober.start();
  await until(() => !prober.isUp(live));
  t.match(prober.status(live), { up: false, lastStatus: 503, lastError: 'status' });
  status = 200;
  await until(() => prober.isUp(live));
  t.match(prober.status(live), { up: true, lastStatus: 200, consecutiveSuccesses: 2 });
  await until(() => !prober.isUp(stuck));
  t.match(prober.status(stuck), { up: false, lastError: 'timeout' });

  const liveReq = seen.find((s) => s.url !== undefined && !s.url.startsWith('/hang'));
  t.equal(liveReq?.url, '/v1/health', 'origin + base path + probe path');
  t.equal(liveReq?.headers.authorization, 'Bearer probe-secret', "the endpoint's headers go along");
  t.match(liveReq?.headers['user-agent'], /^regiongate-health/);
  t.ok(seen.some((s) => s.url === '/hang/health'));
  t.ok(changes.includes('live:down') && changes.includes('live:up') && changes.includes('stuck:down'), changes.join(','));
  t.ok(results.every((r) => r.endpoint === live || r.error === 'timeout'));
});

t.test('the tracker probes over undici by default, and close() releases the agent', async (t) => {
  let status = 503;
  const server = createServer((_req, res) => void res.writeHead(status).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const e = testEndpoint('e', { origin });
  const tracker = new HealthTracker({
    endpoints: [e],
    clock: systemClock,
    random: seededRandom(5),
    options: healthOptions({ interval: 100, timeout: 200, healthyThreshold: 1, unhealthyThreshold: 1 }),
  });
  t.teardown(() => tracker.close());
  const next = (to: string): Promise<HealthTransition> =>
    new Promise((resolve) => {
      const off = tracker.onTransition((tr) => {
        if (tr.to !== to) return;
        off();
        resolve(tr);
      });
    });
  const ejected = next('ejected');
  tracker.start();
  t.match(await ejected, { from: 'healthy', to: 'ejected', cause: 'probe_failed' });
  status = 200;
  t.match(await next('probation'), { from: 'ejected', cause: 'probe_recovered' });
  t.equal(tracker.snapshot()[0].probe, 'up');
  await tracker.close();
  server.closeAllConnections();
});
