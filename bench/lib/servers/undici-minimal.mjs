/**
 * Reference: the least a Node proxy on undici can do. It buffers the request body (as regiongate does
 * so it can replay it), sends it through one keep-alive undici Pool with the dispatch API, and copies
 * the answer back. No header rules, no timers, no routing, no health: the floor under regiongate's
 * figures, so its own cost can be read apart from Node's and undici's.
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

/** @param {{ target: string }} opts */
export async function start({ target }) {
  const origin = new URL(target).origin;
  const pool = new Pool(origin, { connections: 1024, pipelining: 1, keepAliveTimeout: 60_000 });
  const forward = (/** @type {import('node:http').IncomingMessage} */ req, /** @type {import('node:http').ServerResponse} */ res, /** @type {Buffer | null} */ body) => {
    pool.dispatch(
      { origin, path: req.url ?? '/', method: req.method ?? 'GET', headers: req.headers, body },
      {
        onRequestStart() {},
        onResponseStart(controller, status, headers) {
          res.writeHead(status, headers);
          if (headers['content-length'] === undefined) res.flushHeaders();
          this.controller = controller;
        },
        onResponseData(controller, chunk) {
          if (!res.write(chunk)) {
            controller.pause();
            res.once('drain', () => controller.resume());
          }
        },
        onResponseEnd() {
          res.end();
        },
        onResponseError(_c, err) {
          if (!res.headersSent) res.writeHead(502);
          res.destroy(err);
        },
      },
    );
  };
  const server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
    delete req.headers.connection;
    delete req.headers['keep-alive'];
    delete req.headers.host;
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => forward(req, res, chunks.length === 0 ? null : Buffer.concat(chunks)));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    info: { url: `http://127.0.0.1:${port}` },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      await pool.destroy();
    },
  };
}
