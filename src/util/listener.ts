/**
 * Listener plumbing shared by the simulator, its control server and the cluster admin port: listen and learn the port, track
 * every socket so a close is immediate, and close a server after destroying its sockets.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Listen on `host:port` (port 0: any free port); resolves the bound port. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** The open sockets of a server (upgraded ones included). */
export class SocketTracker {
  readonly #sockets = new Set<Socket>();

  /** Track every connection of `server`, with Nagle off. */
  track(server: Server): void {
    server.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  get size(): number {
    return this.#sockets.size;
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}

/** Stop accepting, destroy every open socket, and resolve once the server is closed. */
export function closeServer(server: Server, sockets: SocketTracker): Promise<void> {
  if (!server.listening) {
    sockets.destroyAll();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    server.close(() => resolve());
    sockets.destroyAll();
  });
}

/** The base URL of a bound `host:port` (IPv6 literals bracketed). */
export function baseUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
