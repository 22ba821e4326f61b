/**
 * Peer: fastify + @fastify/http-proxy (reply-from over an undici keep-alive agent), logger off.
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

/** @param {{ target: string }} opts */
export async function start({ target }) {
  const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
  await app.register(proxy, {
    upstream: target,
    undici: { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = /** @type {import('node:net').AddressInfo} */ (app.server.address());
  return { info: { url: `http://127.0.0.1:${port}` }, close: () => app.close() };
}
