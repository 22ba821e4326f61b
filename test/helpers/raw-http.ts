/**
 * A raw-socket HTTP/1.1 client for tests that send bytes curl, fetch and undici refuse or rewrite
 * (dot segments, TRACE, smuggling shapes, upgrades): writes the bytes as given and parses one answer.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly head: string;
  readonly body: string;
  /** The socket, still open after a 101 (the caller closes it); destroyed otherwise. */
  readonly socket: Socket;
}

/** The port of a `http://host:port` URL. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * Send `bytes` to 127.0.0.1:`port` and resolve the first complete answer: head plus `content-length`
 * bytes, or everything until the server closes, or just the head of a 101.
 */
export function rawRequest(port: number, bytes: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (closed: boolean): void => {
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) {
        if (closed && !done) {
          done = true;
          reject(new Error(`connection closed before an answer: ${JSON.stringify(text)}`));
        }
        return;
      }
      const head = text.slice(0, end);
      const [statusLine, ...lines] = head.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim().toLowerCase();
        const value = line.slice(i + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      const rest = buf.subarray(Buffer.byteLength(head, 'latin1') + 4);
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      if (status !== 101 && !closed && (length === undefined || rest.length < length)) return;
      if (done) return;
      done = true;
      const body = rest.subarray(0, length ?? rest.length).toString('utf8');
      if (status !== 101) socket.destroy();
      resolve({ status, headers, head, body, socket });
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      finish(false);
    });
    socket.on('error', (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
    socket.on('close', () => finish(true));
  });
}

/** Resolve when `socket` closes. */
export function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}
