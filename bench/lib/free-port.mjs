/**
 * Ephemeral loopback ports for programs that must be told their port up front (nginx, HAProxy, the
 * Portkey gateway). Node servers of our own bind port 0 and report the port instead.
 */
import { createServer } from 'node:net';

/** A port the kernel just handed out on 127.0.0.1 (free at the time of the call). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `n` distinct free ports.
 * @param {number} n
 * @returns {Promise<number[]>}
 */
export async function freePorts(n) {
  const ports = new Set();
  for (let i = 0; ports.size < n && i < n * 4; i++) ports.add(await freePort());
  if (ports.size < n) throw new Error(`could not find ${n} free ports`);
  return [...ports];
}
