/**
 * Body flood: many clients each send a large request body to an endpoint that does not answer, so the
 * gateway holds every body for replay at once. Measures the gateway's RSS before, at the peak and after
 * the clients close, and how many were refused (503 RG_ERR_BUFFER_FULL), with `limits.bufferedBytes` at
 * its default and effectively unbounded (the behaviour before the bound existed), side by side.
 *
 *   node bench/body-flood.mjs [--clients 100] [--mib 10]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssBytes } from './lib/proc-stats.mjs';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const CLIENTS = arg('clients', 100);
const MIB = arg('mib', 10);
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;

async function freePort() {
  const s = createNetServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** An endpoint that reads every body and never answers (a model server that is slow to start). */
async function silentUpstream() {
  const held = new Set();
  const server = createServer((req, res) => {
    held.add(res);
    req.resume();
    if (req.url === '/health') return res.end('ok');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

async function startGateway(dir, upstream, bufferedBytes) {
  const port = await freePort();
  const file = join(dir, `gw-${bufferedBytes}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      admin: { enabled: false },
      log: { level: 'error' },
      limits: { bodyBytes: MIB * 1024 * 1024 + 1024, ...(bufferedBytes === undefined ? {} : { bufferedBytes }) },
      timeouts: { clientRequest: '5m', firstByte: '5m', request: '10m' },
      regions: [{ name: 'r', endpoints: [{ url: upstream.url }] }],
    }),
  );
  const child = spawn(process.execPath, [CLI, 'start', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => resolve(s.destroy() ?? true));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, port };
}

/** One client: send a whole body, then wait for an answer or for the end. */
function flood(port, body) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let reply = '';
    s.setEncoding('latin1');
    s.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n\r\n')) resolve({ socket: s, refused: /RG_ERR_BUFFER_FULL/.test(reply) || / 503 /.test(reply) });
    });
    s.on('error', () => resolve({ socket: s, refused: true }));
    s.on('close', () => resolve({ socket: s, refused: /RG_ERR_BUFFER_FULL/.test(reply) }));
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
    s.write(body, () => setTimeout(() => resolve({ socket: s, refused: false }), 200));
  });
}

async function run(label, bufferedBytes, dir, body) {
  const upstream = await silentUpstream();
  const { child, port } = await startGateway(dir, upstream, bufferedBytes);
  const before = rssBytes(child.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(child.pid))), 20);
  const results = await Promise.all(Array.from({ length: CLIENTS }, () => flood(port, body)));
  await new Promise((r) => setTimeout(r, 500));
  peak = Math.max(peak, rssBytes(child.pid));
  for (const r of results) r.socket.destroy();
  await new Promise((r) => setTimeout(r, 2000));
  clearInterval(sampler);
  const after = rssBytes(child.pid);
  child.kill('SIGTERM');
  await once(child, 'exit');
  await upstream.close();
  return { label, before, peak, after, refused: results.filter((r) => r.refused).length };
}

const dir = mkdtempSync(join(tmpdir(), 'rg-bench-flood-'));
try {
  const body = Buffer.alloc(MIB * 1024 * 1024, 0x61);
  body.write('{"model":"m","pad":"', 0);
  body.write('"}', body.length - 2);
  const rows = [await run('bufferedBytes default (128 MiB)', undefined, dir, body), await run('unbounded (before the bound)', 2 ** 40, dir, body)];
  console.log(`\n${CLIENTS} clients × ${MIB} MiB bodies, endpoint never answers; gateway RSS:`);
  console.log('| setting | before | peak | 2 s after close | refused (503) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.label} | ${mb(r.before)} | ${mb(r.peak)} | ${mb(r.after)} | ${r.refused} of ${CLIENTS} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
