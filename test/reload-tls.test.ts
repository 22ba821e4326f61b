// A reload re-reads endpoints' TLS files: an https endpoint whose configured CA file does not hold the
// CA that signed its certificate fails (502 RG_ERR_UPSTREAM_TLS); once the file holds the right CA, a
// reload makes it work, with the endpoint kept (same settings: unchanged, its TLS material swapped for
// new connections). The private CA and certificates are made with openssl in the test.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { loadConfigFile } from '../src/config/index.js';
import { createGateway } from '../src/create-gateway.js';
import { hasOpenssl, makePki } from './helpers/pki.js';

if (!hasOpenssl()) {
  t.plan(0, 'openssl is not installed: the TLS tests need it to make a private CA and certificates');
  process.exit(0);
}

const pki = makePki(t);

t.test('a reload re-reads tls.ca: a failing endpoint works after the right CA is put in place', async (t) => {
  // A request to /v1/held answers its first half at once and the rest on `release()`: it holds its TLS
  // connection across a reload.
  const held: (() => void)[] = [];
  const server = createHttpsServer({ key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) }, (req, res) => {
    if (req.url === '/v1/held') {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first half;');
      held.push(() => res.end('second half'));
      return;
    }
    const body = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'over TLS' } }] });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const url = `https://localhost:${(server.address() as AddressInfo).port}`;
  const ca = join(pki.dir, 'endpoint-ca.pem');
  copyFileSync(pki.otherCa, ca);
  const file = join(pki.dir, 'reload.yaml');
  writeFileSync(
    file,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { enabled: false }',
      'log: { level: silent }',
      'health: { probes: false }',
      'retry: { attempts: 1 }',
      'routing: { modelDiscovery: { interval: 0 } }',
      'regions:',
      `  - { name: onprem, endpoints: [{ id: onprem-1, url: "${url}", tls: { ca: "${ca}" } }] }`,
      '',
    ].join('\n'),
  );
  const gw = createGateway(loadConfigFile(file, {}), { configSource: () => loadConfigFile(file, {}) });
  await gw.listen();
  t.teardown(() => gw.close(0, 0));
  const chat = async (): Promise<{ status: number; code?: string }> => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await res.body.json()) as { error?: { code: string } };
    return { status: res.statusCode, code: body.error?.code };
  };
  t.same(await chat(), { status: 502, code: 'RG_ERR_UPSTREAM_TLS' }, 'the wrong CA: a TLS failure');
  const endpoint = gw.registry.endpoint('onprem-1');

  copyFileSync(pki.ca, ca);
  const result = await gw.reload();
  t.same({ changed: result.changed, unchanged: result.unchanged }, { changed: [], unchanged: 1 }, 'same settings: the endpoint is kept');
  t.equal(gw.registry.endpoint('onprem-1'), endpoint, 'the same endpoint object');
  t.same(await chat(), { status: 200, code: undefined }, 'the re-read CA is used for new connections');
  const material = endpoint?.tls;
  await gw.reload();
  t.equal(endpoint?.tls, material, 'files read again with the same bytes: the material (and its secure context) is kept');

  // A connection in use when the material changes keeps going; the change applies to new connections.
  const holding = await request(`${gw.url}/v1/held`, { method: 'POST', body: '{"model":"m"}', headers: { 'content-type': 'application/json' } });
  t.equal(holding.statusCode, 200, 'a held request is answering');
  writeFileSync(ca, readFileSync(pki.ca, 'utf8') + readFileSync(pki.otherCa, 'utf8'));
  const swapped = await gw.reload();
  t.equal(swapped.unchanged, 1);
  t.not(endpoint?.tls, material, 'new bytes: new material for new connections');
  for (const release of held.splice(0)) release();
  t.equal(await holding.body.text(), 'first half;second half', 'the connection in use was not dropped');
  t.same(await chat(), { status: 200, code: undefined }, 'new connections work with the new material');

  // A CA file that no longer parses is a refused reload naming the key; the working material stays.
  writeFileSync(ca, 'not a certificate');
  await t.rejects(gw.reload(), { code: 'RG_ERR_CONFIG', issues: [/^regions\[0\]\.endpoints\[0\]\.tls\.ca: .* holds no PEM certificate$/] });
  t.same(await chat(), { status: 200, code: undefined }, 'still served with the material read before');
});
