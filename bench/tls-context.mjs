// What a new TLS connection to an endpoint with `tls.ca` costs when the CA list (Node's bundled roots
// plus the private CA) is passed to every tls.connect, against one SecureContext built once and shared
// (what src/registry/endpoint-tls.ts does). Makes its own CA and server certificate with openssl in a temp
// dir. Run: node bench/tls-context.mjs [connections=20]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createSecureContext, rootCertificates } from 'node:tls';
import { makeServerCert } from './lib/private-ca.mjs';

const n = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'regiongate-tls-bench-'));
try {
  const pem = makeServerCert(dir);
  const server = createServer({ key: readFileSync(pem.key), cert: readFileSync(pem.cert) }, (_q, r) => r.end());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const ca = [...rootCertificates, readFileSync(pem.ca, 'utf8')];
  const once = (opts) =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ...opts }, () => (socket.destroy(), resolve()));
      socket.on('error', reject);
    });
  const measure = async (label, opts) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await once(opts());
    console.log(`${label}: ${((performance.now() - t0) / n).toFixed(1)} ms per new verified connection (${n} in a row)`);
  };
  await measure('ca passed to every connect', () => ({ ca }));
  const secureContext = createSecureContext({ ca });
  await measure('one shared SecureContext  ', () => ({ secureContext }));
  server.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
