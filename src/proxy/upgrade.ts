/**
 * WebSocket / Upgrade passthrough through http-proxy to the endpoint the picker chooses. Upgraded
 * sockets are tracked so a drain can wait for them and a close can cut them.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Picker } from '../routing/picker.js';
import { requestRegions } from './request-info.js';

export class UpgradeProxy {
  readonly #proxy = httpProxy.createProxyServer({ xfwd: true, ws: true });
  readonly #picker: Picker;
  readonly #sockets = new Set<Duplex>();

  constructor(picker: Picker) {
    this.#picker = picker;
    // http-proxy reports upstream failures here; without a listener it would throw.
    this.#proxy.on('error', (_err, _req, res) => {
      const socket = res as unknown as Duplex;
      if (socket && !socket.destroyed) socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
  }

  get size(): number {
    return this.#sockets.size;
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const endpoint = this.#picker.pick({ model: undefined, regions: requestRegions(req.headers['x-regiongate-regions']), tried: [] });
    if (endpoint === undefined) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\nx-regiongate-error: RG_ERR_NO_ENDPOINT\r\n\r\n');
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    this.#proxy.ws(req, socket, head, {
      target: endpoint.origin + endpoint.basePath,
      headers: Object.fromEntries(endpoint.headers),
    });
  }

  /** Cut every upgraded connection. */
  close(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#proxy.close();
  }
}
