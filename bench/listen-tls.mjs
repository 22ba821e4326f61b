// What TLS (and HTTP/2) toward clients costs on the request path: the same unary completion through
// three gateways over one simulated endpoint, plain HTTP/1.1, HTTP/1.1 over TLS (keep-alive), and HTTP/2
// over one TLS session; closed loop at a fixed concurrency, load generator in the same process (compare
// the rows with each other, not with other benches). Makes its own CA and certificate with openssl.
// Run: npm run build && node bench/listen-tls.mjs [seconds=5] [concurrency=16]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { resolveConfig } from '../dist/config/index.js';
import { createGateway } from '../dist/create-gateway.js';
import { RegionSimulator } from '../dist/sim/index.js';
import { makeServerCert } from './lib/private-ca.mjs';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 16);
const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
const dir = mkdtempSync(join(tmpdir(), 'regiongate-listen-tls-bench-'));
const pem = makeServerCert(dir);
const ca = readFileSync(pem.ca);
const tls = { cert: pem.cert, key: pem.key };

const sim = new RegionSimulator({ name: 'sim' });
await sim.start();
const gateway = async (listen) => {
  const cfg = resolveConfig({ listen: { host: '127.0.0.1', port: 0, ...listen }, admin: { enabled: false }, log: { level: 'silent', access: false }, health: { probes: false }, regions: [{ name: 'sim', endpoints: [{ url: sim.url }] }] }, {});
  const gw = createGateway(cfg);
  await gw.listen();
  return gw;
};

/** Closed loop: `concurrency` workers each sending one request after another for `seconds`. */
async function run(label, send) {
  const lat = [];
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await send();
      lat.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
  console.log(`${label.padEnd(22)} ${(lat.length / seconds).toFixed(0).padStart(6)} req/s   p50 ${q(0.5)} ms   p99 ${q(0.99)} ms`);
}

try {
  const plain = await gateway({});
  const overTls = await gateway({ tls });
  const h2 = await gateway({ tls, http2: true });
  const h1 = (gw, dispatcher) => async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body });
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    await res.body.dump();
  };
  console.log(`${concurrency} concurrent clients, ${seconds} s each, unary completion, simulator upstream`);
  const plainAgent = new Agent();
  const tlsAgent = new Agent({ connect: { ca } });
  await run('HTTP/1.1 plain', h1(plain, plainAgent));
  await run('HTTP/1.1 over TLS', h1(overTls, tlsAgent));
  const session = http2Connect(h2.url.replace('127.0.0.1', 'localhost'), { ca });
  await run('HTTP/2 (one session)', () => new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' });
    s.end(body);
    s.on('response', (h) => h[':status'] !== 200 && reject(new Error(`status ${h[':status']}`)));
    s.resume();
    s.on('end', resolve);
    s.on('error', reject);
  }));
  session.close();
  await Promise.all([plainAgent.close(), tlsAgent.close()]);
  await Promise.all([plain.close(0, 0), overTls.close(0, 0), h2.close(0, 0)]);
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
