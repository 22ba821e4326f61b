// A drain never closes a connection a load balancer may be about to reuse: idle keep-alive connections
// stay open until their next request (answered with `connection: close`) or the deadline; liveness stays
// 200 until exit; upgraded tunnels are waited for, not cut. Raw sockets on 127.0.0.1, a real simulator.
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { startGateway, startSim } from './helpers/gateway.js';

/** A raw client connection that collects what it receives. */
interface RawConn {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once `done` holds for what was received (rejects if the socket closes first). */
  until(done: (received: string) => boolean): Promise<string>;
  /** Resolves when the socket closed. */
  readonly closed: Promise<void>;
}

function rawConnect(port: number): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = '';
    const waiters: (() => void)[] = [];
    let ended = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    void closed.then(() => {
      ended = true;
      for (const w of waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => buf,
        closed,
        until: (done) =>
          new Promise((res, rej) => {
            const check = (): void => {
              if (done(buf)) return res(buf);
              if (ended) return rej(new Error(`closed early; got ${JSON.stringify(buf)}`));
              waiters.push(check);
            };
            check();
          }),
      }),
    );
    socket.once('error', reject);
  });
}

/** Resolves true when a new TCP connection to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

const POST = (n: number): string =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 13\r\nx-n: ${n}\r\n\r\n{"model":"m"}`;

/** True once `text` holds `n` complete answers, each with a content-length body. */
function answers(n: number): (text: string) => boolean {
  return (text) => {
    let at = 0;
    for (let i = 0; i < n; i++) {
      const end = text.indexOf('\r\n\r\n', at);
      if (end === -1) return false;
      const length = /content-length: (\d+)/i.exec(text.slice(at, end));
      at = end + 4 + Number(length?.[1] ?? 0);
      if (at > text.length) return false;
    }
    return true;
  };
}

t.test('drain keeps an idle keep-alive connection open and answers its next request with connection: close', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const port = Number(new URL(gw.url).port);
  const conn = await rawConnect(port);
  t.teardown(() => conn.socket.destroy());
  conn.socket.write(POST(1));
  const first = await conn.until(answers(1));
  t.match(first, /^HTTP\/1\.1 200/);
  t.match(first, /connection: keep-alive/i, 'before the drain the connection is kept alive');

  // The balancer's pool holds this idle connection and may pick it at any moment.
  let drained = false;
  const draining = gw.gateway.drain(20_000, 0).then(() => (drained = true));
  t.ok(await refused(port), 'the listener stops accepting');
  t.equal(gw.gateway.connections, 1, 'the idle keep-alive connection is still open');
  t.notOk(drained, 'the drain waits for it');

  const before = conn.received().length;
  conn.socket.write(POST(2));
  await conn.closed;
  const second = conn.received().slice(before);
  t.match(second, /^HTTP\/1\.1 200/, 'a request sent on the idle connection during the drain is served');
  t.match(second, /connection: close/i, 'with connection: close');
  await draining;
  t.pass('the drain ends once the last connection closed');
});

t.test('drain: /healthz stays 200 until exit, /readyz turns 503', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const port = Number(new URL(gw.url).port);
  const conn = await rawConnect(port);
  t.teardown(() => conn.socket.destroy());
  const draining = gw.gateway.drain(20_000, 60_000);
  conn.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const live = await conn.until(answers(1));
  t.match(live, /^HTTP\/1\.1 200/, 'liveness 200 during the drain');
  t.match(live, /\{"status":"draining"\}$/, 'and says it is draining');
  t.match(live, /connection: close/i, 'probe answers close their connection too');
  await conn.closed;
  const ready = await rawConnect(port);
  t.teardown(() => ready.socket.destroy());
  ready.socket.write('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
  t.match(await ready.until(answers(1)), /^HTTP\/1\.1 503[^]*\{"status":"draining"\}$/, 'readiness 503');
  await ready.closed;
  await gw.gateway.close();
  await draining;
});

t.test('drain waits for an upgraded tunnel instead of cutting it', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const port = Number(new URL(gw.url).port);
  const ws = await rawConnect(port);
  t.teardown(() => ws.socket.destroy());
  ws.socket.write(
    'GET /v1/realtime HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  await ws.until((b) => /^HTTP\/1\.1 101[^]*\r\n\r\n/.test(b));
  let drained = false;
  const draining = gw.gateway.drain(20_000, 0).then(() => (drained = true));
  t.ok(await refused(port), 'the listener stops accepting');
  ws.socket.write('ping-during-drain');
  await ws.until((b) => b.includes('ping-during-drain'));
  t.pass('the tunnel still carries bytes during the drain');
  t.notOk(drained, 'the drain waits for the tunnel');
  ws.socket.end();
  await draining;
  t.pass('the drain ends when the tunnel does');
});

t.test('the drain deadline closes idle connections and cuts tunnels', async (t) => {
  const sim = await startSim(t, { name: 'r' });
  const gw = await startGateway(t, [{ name: 'r', url: sim.url }]);
  const port = Number(new URL(gw.url).port);
  const idle = await rawConnect(port);
  t.teardown(() => idle.socket.destroy());
  idle.socket.write(POST(1));
  await idle.until(answers(1));
  const ws = await rawConnect(port);
  t.teardown(() => ws.socket.destroy());
  ws.socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: eA==\r\n\r\n');
  await ws.until((b) => /^HTTP\/1\.1 101[^]*\r\n\r\n/.test(b));
  await gw.gateway.drain(300, 0);
  await Promise.all([idle.closed, ws.closed]);
  t.pass('both closed by the deadline');
});
