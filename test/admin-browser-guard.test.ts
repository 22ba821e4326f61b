/**
 * The admin API is not open to the web (issue 9): a page the operator opens may not drain regions (a
 * `text/plain` POST needs no preflight), DNS rebinding may not read or change state, preflights are never
 * answered permissively, and the dashboard, which is same-origin, keeps working. An unexpected error in
 * the admin API is a 500 and a log line.
 */
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { request } from 'undici';
import { AdminServer, type AdminTarget } from '../src/admin/admin-server.js';
import { DASHBOARD_HTML } from '../src/admin/dashboard.js';
import { createLogger } from '../src/telemetry/logger.js';
import { startGateway, startSim, type Teardown } from './helpers/gateway.js';
import { waitUntil } from './helpers/redis-server.js';

async function gatewayWithAdmin(t: Teardown, admin: Record<string, unknown> = {}) {
  const a = await startSim(t, { name: 'a' });
  const b = await startSim(t, { name: 'b' });
  // Two regions: draining one leaves the model served (a drain that strands a model is refused).
  const gw = await startGateway(t, [{ name: 'a', url: a.url }, { name: 'b', url: b.url }], {
    admin: { host: '127.0.0.1', port: 0, enabled: true, ...admin },
    health: { probes: false },
  });
  const url = new URL(gw.admin!.url);
  const drained = (): boolean => gw.health.state(gw.registry.endpoint('a-0')!) === 'drained';
  return { gw, url, drained };
}

async function call(url: URL, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const res = await request(new URL(path, url), { method: opts.method ?? 'GET', headers: opts.headers, body: opts.body, reset: true });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

t.test('a cross-site text/plain POST cannot drain a region of a tokenless admin API', async (t) => {
  const { url, drained } = await gatewayWithAdmin(t);
  const form = await call(url, '/admin/regions/a/drain', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
  t.equal(form.status, 403, 'a simple POST (no preflight in a browser) is refused');
  t.match(form.text, /RG_ADMIN_FORBIDDEN/);
  const crossSite = await call(url, '/admin/regions/a/drain', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
  });
  t.equal(crossSite.status, 403, 'a cross-origin POST is refused whatever its headers');
  const nullOrigin = await call(url, '/admin/regions/a/drain', { method: 'POST', headers: { 'x-regiongate-admin': '1', origin: 'null' } });
  t.equal(nullOrigin.status, 403, 'Origin: null (sandboxed frame, file:) is refused');
  const localDev = await call(url, '/admin/regions/a/drain', { method: 'POST', headers: { 'x-regiongate-admin': '1', origin: 'http://localhost:3000' } });
  t.equal(localDev.status, 403, 'another port on the same machine is another origin');
  t.notOk(drained(), 'the region was never drained');

  const curl = await call(url, '/admin/regions/a/drain', { method: 'POST', headers: { 'x-regiongate-admin': '1' } });
  t.equal(curl.status, 200, 'a non-browser client with the header drains');
  t.ok(drained());
  const json = await call(url, '/admin/regions/a/undrain', { method: 'POST', headers: { 'content-type': 'application/json' } });
  t.equal(json.status, 200, 'Content-Type: application/json also forces a preflight, so it passes');
});

t.test('a DNS-rebinding Host can neither read nor change admin state', async (t) => {
  const { url, drained } = await gatewayWithAdmin(t);
  const evil = `evil.example:${url.port}`;
  for (const path of ['/admin/state', '/metrics', '/']) {
    const r = await call(url, path, { headers: { host: evil } });
    t.equal(r.status, 403, `GET ${path} with Host ${evil} is refused`);
    t.match(r.text, /admin\.allowedHosts/, 'the refusal names the key that would admit it');
  }
  const drain = await call(url, '/admin/regions/a/drain', { method: 'POST', headers: { host: evil, 'x-regiongate-admin': '1' } });
  t.equal(drain.status, 403);
  t.notOk(drained());
  t.equal((await call(url, '/healthz', { headers: { host: evil } })).status, 200, '/healthz holds nothing and stays open');
  for (const host of [`127.0.0.1:${url.port}`, `localhost:${url.port}`, `[::1]:${url.port}`, `10.1.2.3:${url.port}`, `app.localhost:${url.port}`])
    t.equal((await call(url, '/admin/state', { headers: { host } })).status, 200, `Host ${host} (loopback name or IP literal) is served`);
});

t.test('admin.allowedHosts admits the names it lists, and only those', async (t) => {
  const { url } = await gatewayWithAdmin(t, { allowedHosts: ['regiongate-admin.internal'] });
  t.equal((await call(url, '/metrics', { headers: { host: `regiongate-admin.internal:${url.port}` } })).status, 200);
  t.equal((await call(url, '/metrics', { headers: { host: 'REGIONGATE-ADMIN.internal' } })).status, 200, 'case-insensitive');
  t.equal((await call(url, '/metrics', { headers: { host: 'other.internal' } })).status, 403);
});

t.test('a CORS preflight is refused and no admin answer allows cross-origin reads', async (t) => {
  const { url } = await gatewayWithAdmin(t);
  const preflight = await call(url, '/admin/regions/a/drain', {
    method: 'OPTIONS',
    headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-regiongate-admin' },
  });
  t.equal(preflight.status, 405);
  const read = await call(url, '/admin/state', { headers: { origin: 'http://evil.example' } });
  t.equal(read.status, 403, 'a cross-origin read is refused');
  const same = await call(url, '/admin/state', { headers: { origin: url.origin } });
  t.equal(same.status, 200, 'a same-origin read is served');
  for (const r of [preflight, read, same]) {
    t.notOk(Object.keys(r.headers).some((h) => h.startsWith('access-control-')), 'no Access-Control-* header');
    t.equal(r.headers['x-frame-options'], 'DENY', 'never framed');
  }
});

t.test('absolute-form and asterisk-form targets are a 400 on the admin port', async (t) => {
  const { url } = await gatewayWithAdmin(t);
  const { connect } = await import('node:net');
  for (const line of ['GET http://x/admin/state HTTP/1.1', 'OPTIONS * HTTP/1.1']) {
    const answer = await new Promise<string>((resolve) => {
      const s = connect(Number(url.port), url.hostname, () => s.write(`${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      s.on('close', () => resolve(text));
    });
    t.match(answer, /^HTTP\/1\.1 400 [\s\S]*RG_ADMIN_BAD_REQUEST/, line);
  }
});

t.test('an admin handler that throws answers 500 and logs admin.error; the server keeps serving', async (t) => {
  const lines: string[] = [];
  const target: AdminTarget = {
    state: () => {
      throw new Error('state exploded');
    },
    metrics: () => '',
    act: () => [],
  };
  const admin = new AdminServer(target, { host: '127.0.0.1', logger: createLogger('error', (l) => lines.push(l)) });
  await admin.listen(0, '127.0.0.1');
  t.teardown(() => admin.close());
  const url = new URL(admin.url);
  const r = await call(url, '/admin/state');
  t.equal(r.status, 500);
  t.match(JSON.parse(r.text), { error: { code: 'RG_ADMIN_INTERNAL' } });
  t.equal(lines.length, 1, 'one log line');
  t.match(JSON.parse(lines[0]), { level: 'error', event: 'admin.error', method: 'GET', url: '/admin/state', err: { message: 'state exploded' } });
  t.equal((await call(url, '/healthz')).status, 200, 'and answers the next request');
});

/** The dashboard's script, run against a live admin API with the two DOM elements it uses. */
function runDashboard(admin: URL, hash: string) {
  const script = /<script>([\s\S]*)<\/script>/.exec(DASHBOARD_HTML)?.[1] ?? '';
  const meta = { textContent: '' };
  let onClick: ((ev: unknown) => void) | undefined;
  const rows = {
    innerHTML: '',
    addEventListener: (_type: string, fn: (ev: unknown) => void) => (onClick = fn),
  };
  // A browser adds Origin to a same-origin POST; fetch paths are relative to the page.
  const browserFetch = (path: string, init: { method?: string; headers?: Record<string, string> } = {}) =>
    fetch(new URL(path, admin), { ...init, headers: { ...init.headers, ...(init.method === 'POST' && { origin: admin.origin }) } });
  runInNewContext(script, {
    location: { hash },
    URLSearchParams,
    encodeURIComponent,
    fetch: browserFetch,
    setInterval: () => 0,
    document: { getElementById: (id: string) => (id === 'meta' ? meta : rows) },
  });
  /** Click the button of endpoint `id`, as the page's delegated handler sees it. */
  const click = (id: string): void => {
    const m = new RegExp(`<button data-id="${id}" data-action="(\\w+)">`).exec(rows.innerHTML);
    if (!m) throw new Error(`no button for ${id} in ${rows.innerHTML}`);
    onClick?.({ target: { closest: () => ({ dataset: { id, action: m[1] } }) } });
  };
  return { meta, rows, click };
}

t.test('the dashboard still drains and undrains under the new rules, with and without a token', async (t) => {
  for (const token of [undefined, 'dashboard-token-0123456789']) {
    const { url, drained } = await gatewayWithAdmin(t, token ? { token } : {});
    const page = runDashboard(url, token ? `#token=${token}` : '');
    await waitUntil('the dashboard shows a-0', () => page.rows.innerHTML.includes('a-0'));
    page.click('a-0');
    await waitUntil('a-0 drained through the dashboard', drained);
    await waitUntil('the button turns to undrain', () => page.rows.innerHTML.includes('data-action="undrain"'));
    page.click('a-0');
    await waitUntil('a-0 undrained through the dashboard', () => !drained());
    t.pass(`drain and undrain from the page ${token ? 'with' : 'without'} a token`);
  }
});

/** The dashboard rendered over an admin API whose state lists `endpoints`; resolves once it shows rows. */
async function dashboardOver(t: Teardown, endpoints: object[]): Promise<string> {
  const target: AdminTarget = {
    state: () => ({ gatewayId: 'g', draining: false, inflight: 0, store: { store: 'memory' }, retryBudget: 1, endpoints }),
    metrics: () => '',
    act: () => [],
  };
  const admin = new AdminServer(target, { host: '127.0.0.1' });
  await admin.listen(0, '127.0.0.1');
  t.teardown(() => admin.close());
  const page = runDashboard(new URL(admin.url), '');
  await waitUntil('the dashboard renders', () => page.rows.innerHTML.includes('<tr>'));
  return page.rows.innerHTML;
}

t.test('the dashboard escapes what it shows (a cause can come from another gateway)', async (t) => {
  const nasty = '<img src=x onerror=alert(1)>';
  const html = await dashboardOver(t, [{ region: 'r', id: 'e"1', state: 'ejected', cause: nasty, ewmaMs: 1, inflight: 0, ejections: 1, breaker: 'closed', probe: nasty }]);
  t.notOk(html.includes('<img'), 'no markup from the state reaches the page');
  t.ok(html.includes('&#60;img src=x onerror=alert(1)&#62;'), 'it is shown as text');
  t.ok(html.includes('data-id="e&#34;1"'), 'attribute values are escaped too');
});

t.test('the dashboard shows load signals: predicted queue, KV, age and score; stale ones say latency only', async (t) => {
  const base = { state: 'healthy', cause: '', ewmaMs: 5, inflight: 3, ejections: 0, breaker: 'closed', probe: 'ok' };
  const html = await dashboardOver(t, [
    { ...base, region: 'near', id: 'near-0', score: 123.4, loadSignals: { engine: 'vllm', fresh: true, saturated: true, ageMs: 42, predicted: { waiting: 2, running: 4, kv: 1 }, lastError: null } },
    { ...base, region: 'far', id: 'far-0', score: 40, loadSignals: { engine: 'vllm', fresh: false, saturated: false, ageMs: 5000, predicted: null, lastError: '<b>503</b>' } },
    { ...base, region: 'plain', id: 'plain-0' },
  ]);
  t.ok(html.includes('SATURATED · queue 2 · running 4 · kv 100% · read 42 ms ago · score 123.4'), html);
  t.ok(html.includes('stale: latency only (&#60;b&#62;503&#60;/b&#62;)'), 'stale signals, the reason escaped');
  t.match(html, /plain-0<\/td>(<td[^>]*>[^<]*<\/td>){4}<td>—<\/td>/, 'no load signals: a dash');
});
