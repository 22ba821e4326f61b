/**
 * The simulator's answer to an HTTP/1.1 Upgrade (RFC 9110 §7.8), WebSocket included: `101 Switching
 * Protocols`, with `Sec-WebSocket-Accept` computed from `Sec-WebSocket-Key` (RFC 6455 §4.2.2), then every
 * raw byte received is echoed back (no framing). Faults apply as on plain requests.
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FaultVerdict } from './fault-verdict.js';
import { resetConnection, type SimProfile } from './sim-exchange.js';

/** The GUID of RFC 6455 §1.3. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`. */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

export interface UpgradeContext {
  readonly profile: SimProfile;
  readonly verdict: FaultVerdict;
  /** Wait `ms`; `false` when aborted (socket closed) or the simulator closed. */
  sleep(ms: number, signal: AbortSignal): Promise<boolean>;
}

function rawResponse(status: number, headers: Record<string, string>, body = ''): string {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Answer an upgrade request on its raw socket. */
export async function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, ctx: UpgradeContext): Promise<void> {
  const { profile, verdict } = ctx;
  socket.on('error', () => {});
  socket.setNoDelay(true);
  if (verdict.kind === 'reset') return resetConnection(socket);
  if (verdict.kind === 'hang') return;
  const closed = new AbortController();
  socket.once('close', () => closed.abort());
  const delay = profile.latencyMs + (verdict.kind === 'pass' ? verdict.delayMs : 0);
  if (!(await ctx.sleep(delay, closed.signal))) return;
  if (verdict.kind === 'answer') {
    const body = JSON.stringify(verdict.body);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'x-sim-region': profile.name,
      connection: 'close',
      ...verdict.headers,
    };
    socket.end(rawResponse(verdict.status, headers, body));
    return;
  }
  const protocol = req.headers.upgrade ?? 'websocket';
  const headers: Record<string, string> = { Upgrade: protocol, Connection: 'Upgrade', 'x-sim-region': profile.name };
  const key = req.headers['sec-websocket-key'];
  if (protocol.toLowerCase() === 'websocket' && typeof key === 'string') {
    headers['Sec-WebSocket-Accept'] = webSocketAccept(key.trim());
  }
  socket.write(rawResponse(101, headers));
  if (verdict.resetAfter !== undefined) {
    socket.destroySoon();
    return;
  }
  if (head.length > 0) socket.write(head);
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
  socket.once('end', () => socket.end());
}
