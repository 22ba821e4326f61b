// What a new TLS connection to an endpoint with `tls.ca` costs when the CA list (Node's bundled roots
// plus the private CA) is passed to every tls.connect, against one SecureContext built once and shared
// (what src/registry/endpoint-tls.ts does). Makes its own CA and server certificate with openssl in a temp
// dir. Run: node bench/tls-context.mjs [connections=20]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createSecureContext, rootCertificates } from 'node:tls';

const n = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'regiongate-tls-bench-'));
try {
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=bench-ca', '-addext', 'basicConstraints=critical,CA:TRUE');
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext');
  const server = createServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) }, (_q, r) => r.end());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const ca = [...rootCertificates, readFileSync(join(dir, 'ca.pem'), 'utf8')];
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
