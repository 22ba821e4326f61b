/**
 * The fallback fast target when nginx is not installed: plain node:http servers (one per port) that
 * read the request and answer every request with the same 1 KB chat completion.
 */
import { createServer } from 'node:http';
import { CHAT_RESPONSE } from '../payloads.mjs';

const BODY = Buffer.from(CHAT_RESPONSE);
const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };

/** @param {{ ports?: number }} opts */
export async function start({ ports = 1 }) {
  /** @type {import('node:http').Server[]} */
  const servers = [];
  for (let i = 0; i < ports; i++) {
    const server = createServer({ noDelay: true, keepAliveTimeout: 120_000 }, (req, res) => {
      req.on('data', noop);
      req.on('end', () => {
        res.writeHead(200, HEADERS);
        res.end(BODY);
      });
    });
    server.headersTimeout = 130_000;
    server.requestTimeout = 0;
    // A deep accept backlog: the target is harness, it should never be what drops connections.
    await new Promise((resolve) => server.listen(0, '127.0.0.1', 4096, () => resolve(undefined)));
    servers.push(server);
  }
  const urls = servers.map((s) => `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (s.address()).port}`);
  return {
    info: { urls },
    close: () =>
      Promise.all(
        servers.map((s) => {
          s.closeAllConnections();
          return new Promise((resolve) => s.close(() => resolve(undefined)));
        }),
      ),
  };
}

function noop() {}
