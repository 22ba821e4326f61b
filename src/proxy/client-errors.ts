/**
 * Answers for requests Node's HTTP parser rejects before they reach the gateway: oversized headers
 * (431), slow clients (408) and malformed requests (400): smuggling shapes, and methods llhttp does not
 * know (TRACK among them: a garbage request line looks the same). Written raw on the socket, then closed.
 */
import type { Duplex } from 'node:stream';
import { GatewayError, type ErrorCode } from '../errors.js';
import { sendRawError } from './raw-response.js';

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
  sendRawError(socket, new GatewayError(code, { cause: err }), { attempts: 0 });
}
