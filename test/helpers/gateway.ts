/**
 * Test helpers: a gateway on 127.0.0.1:0 over real upstreams (simulators or plain node:http servers),
 * closed in teardown.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveConfig } from '../../src/config/index.js';
import type { GatewayConfigInput } from '../../src/config/index.js';
import { createGateway, type CreateGatewayOptions, type RunningGateway } from '../../src/create-gateway.js';
import { RegionSimulator, type RegionSimulatorOptions } from '../../src/sim/index.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface RegionSpec {
  name: string;
  url: string;
  priority?: number;
  models?: string[] | Record<string, string>;
  headers?: Record<string, string>;
  /** The endpoint's connection limit (0 = none). */
  connections?: number;
}

/**
 * Start a gateway over `regions` with config `overrides` (listen port 0, admin off, logs silent, and
 * model discovery off unless `overrides.routing.modelDiscovery` turns it on, so upstreams see only the
 * test's own requests and its health probes).
 */
export async function startGateway(
  t: Teardown,
  regions: RegionSpec[],
  overrides: Partial<GatewayConfigInput> = {},
  opts: CreateGatewayOptions = {},
): Promise<RunningGateway> {
  const config = resolveConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      log: { level: 'silent', access: false },
      ...overrides,
      routing: { ...overrides.routing, modelDiscovery: { interval: 0, ...overrides.routing?.modelDiscovery } },
      regions: regions.map((r) => ({
        name: r.name,
        priority: r.priority ?? 0,
        endpoints: [{ url: r.url, models: r.models ?? ['*'], headers: r.headers ?? {}, connections: r.connections ?? 0 }],
      })),
    },
    {},
  );
  const gw = createGateway(config, opts);
  await gw.listen();
  t.teardown(() => gw.close(0, 0));
  return gw;
}

/** Requests `sim` got through the gateway: all of them but the gateway's own health probes. */
export function forwardedCount(sim: RegionSimulator): number {
  // Probes go to the endpoint's base path + /health (e.g. /tenant-a/health).
  let probes = 0;
  for (const [path, n] of Object.entries(sim.stats.byPath)) if (path === '/health' || path.endsWith('/health')) probes += n;
  return sim.stats.requests - probes;
}

/** Start a simulated region, closed in teardown. */
export async function startSim(t: Teardown, opts: RegionSimulatorOptions): Promise<RegionSimulator> {
  const sim = new RegionSimulator(opts);
  await sim.start();
  t.teardown(() => sim.close());
  return sim;
}

/** A plain node:http upstream with a handler of the test's own, closed in teardown. */
export async function startUpstream(
  t: Teardown,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A URL on which nothing listens (a port bound and released). */
export async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
