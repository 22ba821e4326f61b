/**
 * Peer: node-http-proxy (`http-proxy`) in front of one target, with a keep-alive agent (its default
 * agent-less mode opens a connection per request, which would be unfair to it).
 */
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

/** @param {{ target: string }} opts */
export async function start({ target }) {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024, scheduling: 'lifo' });
  const proxy = httpProxy.createProxyServer({ target, agent });
  proxy.on('error', (_err, _req, res) => {
    const r = /** @type {import('node:http').ServerResponse} */ (res);
    if (typeof r.writeHead === 'function' && !r.headersSent) r.writeHead(502);
    r.end?.();
  });
  const server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => proxy.web(req, res));
  // Node's default accept backlog (511), like every system under test: regiongate cannot set another.
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    info: { url: `http://127.0.0.1:${port}` },
    close: () => {
      server.closeAllConnections();
      agent.destroy();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
