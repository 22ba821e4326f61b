/**
 * Answers for requests Node's HTTP parser rejects before they reach the gateway: oversized headers
 * (431), slow clients (408) and malformed requests (400). Written raw on the socket, then closed.
 */
import type { Duplex } from 'node:stream';
import { GatewayError, type ErrorCode } from '../errors.js';

function codeFor(err: NodeJS.ErrnoException): ErrorCode | undefined {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'RG_ERR_HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'RG_ERR_CLIENT_TIMEOUT';
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined; // the client is gone: nobody to answer
    default:
      return 'RG_ERR_BAD_REQUEST';
  }
}

/** Handler for the server's `clientError` event. */
export function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const code = codeFor(err);
  if (code === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  const gatewayError = new GatewayError(code, { cause: err });
  const body = JSON.stringify(gatewayError.toJSON());
  socket.end(
    `HTTP/1.1 ${gatewayError.statusCode} ${statusText(gatewayError.statusCode)}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-regiongate-attempts: 0\r\nx-regiongate-error: ${code}\r\nconnection: close\r\n\r\n${body}`,
  );
  // A client that never reads its answer must not hold the socket.
  setTimeout(() => socket.destroy(), 1000).unref();
}

function statusText(status: number): string {
  return status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
}
