// Bounded cost per request (issue 8): all request bodies held for replay together stay under
// `limits.bufferedBytes`; beyond it a request is refused with 503 RG_ERR_BUFFER_FULL and Retry-After,
// before its body is read when Content-Length already says so, and the bytes come back when done.
import t from 'tap';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { startGateway, startUpstream } from './helpers/gateway.js';

async function open(url: string): Promise<{ socket: Socket; read: (p: RegExp) => Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setEncoding('latin1');
  let seen = '';
  const waiters: { p: RegExp; resolve: (s: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.p.test(seen)) w.resolve(seen);
  };
  socket.on('data', (d: string) => {
    seen += d;
    check();
  });
  socket.on('close', () => {
    seen += '\n<closed>';
    check();
  });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return { socket, read: (p) => (p.test(seen) ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ p, resolve }))) };
}

const head = (length: number, extra = '') =>
  `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n${extra}\r\n`;
const bodyOf = (length: number) => `{"model":"m","pad":"${'x'.repeat(length - 22)}"}`;

t.test('bodies held together stay under limits.bufferedBytes', async (t) => {
  let answered = 0;
  const up = await startUpstream(t, (req, res) => {
    req.resume();
    req.on('end', () => {
      answered++;
      res.end('{"ok":true}');
    });
  });
  const gw = await startGateway(t, [{ name: 'a', url: up.url }], {
    health: { probes: false },
    limits: { bodyBytes: 1_000_000, bufferedBytes: 1_000_000 },
  });
  const size = 700_000;
  const body = bodyOf(size);
  t.equal(body.length, size);

  // A holds 700 kB of the 1 MB budget (declared), sending its body slowly.
  const a = await open(gw.url);
  a.socket.write(head(size) + body.slice(0, 1000));

  // B declares 700 kB: refused at once, before it sends a byte of its body.
  const b = await open(gw.url);
  b.socket.write(head(size));
  const bReply = await b.read(/<closed>/);
  t.match(bReply, /^HTTP\/1.1 503 /);
  t.match(bReply, /x-regiongate-error: RG_ERR_BUFFER_FULL/);
  t.match(bReply, /retry-after: 1/);
  t.match(bReply, /connection: close/);

  // C sends a chunked body: refused once its chunks pass what is left.
  const c = await open(gw.url);
  c.socket.write('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
  const chunk = 'y'.repeat(100_000);
  for (let i = 0; i < 5; i++) c.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  const cReply = await c.read(/<closed>|RG_ERR_BUFFER_FULL/);
  t.match(cReply, /^HTTP\/1.1 503 /, 'chunked: refused past the budget');
  t.match(cReply, /RG_ERR_BUFFER_FULL/);
  c.socket.destroy();

  // Expect: 100-continue while the budget is taken: no 100, a 503.
  const e = await open(gw.url);
  e.socket.write(head(size, 'expect: 100-continue\r\n'));
  const eReply = await e.read(/<closed>/);
  t.notMatch(eReply, /100 Continue/);
  t.match(eReply, /^HTTP\/1.1 503 /);

  t.equal(answered, 0, 'nothing refused reached the upstream');

  // A finishes: its bytes come back, and a new 700 kB request fits again.
  a.socket.write(body.slice(1000));
  const aReply = await a.read(/\{"ok":true\}/);
  t.match(aReply, /^HTTP\/1.1 200 /);
  a.socket.destroy();
  const d = await open(gw.url);
  d.socket.write(head(size) + body);
  const dReply = await d.read(/\{"ok":true\}|<closed>/);
  t.match(dReply, /^HTTP\/1.1 200 /, 'the budget was given back');
  d.socket.destroy();
  t.equal(answered, 2);
});

t.test('a client that disconnects mid-body gives its reservation back', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  });
  const gw = await startGateway(t, [{ name: 'a', url: up.url }], {
    health: { probes: false },
    limits: { bodyBytes: 1_000_000, bufferedBytes: 1_000_000 },
  });
  const size = 700_000;
  for (let i = 0; i < 5; i++) {
    const a = await open(gw.url);
    a.socket.write(head(size) + 'x'.repeat(100));
    while (gw.gateway.inflight < 1) await new Promise((r) => setImmediate(r));
    a.socket.destroy();
    while (gw.gateway.inflight > 0) await new Promise((r) => setImmediate(r));
  }
  const d = await open(gw.url);
  d.socket.write(head(size) + bodyOf(size));
  const reply = await d.read(/\{"ok":true\}|<closed>/);
  t.match(reply, /^HTTP\/1.1 200 /, 'five abandoned 700 kB uploads left nothing reserved');
  d.socket.destroy();
});
