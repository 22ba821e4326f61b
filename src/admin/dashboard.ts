/**
 * The live dashboard: one static page that polls `/admin/state` every second and shows each endpoint's
 * health, latency and load, with drain/undrain buttons, and says when the fleet trusts every writer. No build
 * step, no external assets.
 * Every value is HTML-escaped before it reaches the page (a cause string can come from another gateway
 * through the fleet store), and the buttons send `X-Regiongate-Admin: 1`, the header the admin API
 * requires of state changes so that a cross-site page cannot make them (see `admin-guard.ts`).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>regiongate</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;background:#0f1115;color:#e6e6e6}
h1{font-size:20px}table{border-collapse:collapse;width:100%}th,td{padding:6px 10px;border-bottom:1px solid #2a2e36;text-align:left}
.healthy{color:#4ade80}.probation{color:#facc15}.ejected,.drained{color:#f87171}.rate_limited{color:#fb923c}
button{background:#2a2e36;color:#e6e6e6;border:1px solid #444;border-radius:4px;padding:2px 8px;cursor:pointer}
#meta{color:#9ca3af;margin-bottom:1em}
</style></head><body>
<h1>regiongate</h1><div id="meta">loading…</div>
<table><thead><tr><th>region</th><th>endpoint</th><th>state</th><th>cause</th><th>ttfb ewma</th><th>in flight</th><th>load (predicted)</th><th>ejections</th><th>breaker</th><th>probe</th><th></th></tr></thead>
<tbody id="rows"></tbody></table>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const headers = token ? { authorization: 'Bearer ' + token } : {};
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
async function act(id, action) {
  const url = '/admin/endpoints/' + encodeURIComponent(id) + '/' + action;
  const init = { method: 'POST', headers: { ...headers, 'x-regiongate-admin': '1' } };
  const res = await fetch(url, init);
  // A drain that would leave a model with no endpoint is refused (409): the operator decides.
  if (res.status === 409) {
    const why = (await res.json()).error.message;
    if (confirm(why + ' Do it anyway?')) await fetch(url + '?force=true', init);
  }
  refresh();
}
document.getElementById('rows').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-id]');
  if (b) act(b.dataset.id, b.dataset.action);
});
async function refresh() {
  try {
    const s = await (await fetch('/admin/state', { headers })).json();
    document.getElementById('meta').textContent = 'gateway ' + s.gatewayId + ' · ' + (s.draining ? 'draining' : 'serving') +
      ' · in flight ' + s.inflight + ' · store ' + s.store.store + (s.store.degraded ? ' (degraded)' : '') + ' · retry budget ' + s.retryBudget.toFixed(1) +
      (s.fleet && s.fleet.trust === 'trusts every writer' ? ' · fleet UNSIGNED: trusts every writer of Redis (set state.secret)' : '') +
      (s.store.rejected ? ' · ' + esc(s.store.rejected) + ' forged fleet messages dropped' : '');
    // Load signals: the predicted queue, running sequences and KV use, the age of the read, the score.
    const load = (e) => {
      const l = e.loadSignals;
      if (!l) return '—';
      if (!l.fresh) return 'stale: latency only' + (l.lastError ? ' (' + l.lastError + ')' : '');
      const p = l.predicted;
      return (l.saturated ? 'SATURATED · ' : '') + 'queue ' + p.waiting + ' · running ' + p.running +
        (p.kv === null || p.kv === undefined ? '' : ' · kv ' + Math.round(p.kv * 100) + '%') + ' · read ' + l.ageMs + ' ms ago · score ' + Number(e.score).toFixed(1);
    };
    const rows = s.endpoints.map((e) => {
      const action = e.state === 'drained' ? 'undrain' : 'drain';
      return '<tr><td>' + esc(e.region) + '</td><td>' + esc(e.id) + '</td><td class="' + esc(e.state) + '">' + esc(e.state) +
        '</td><td>' + esc(e.cause) + '</td><td>' + esc(Number(e.ewmaMs).toFixed(1)) + ' ms</td><td>' + esc(e.inflight) + '</td><td>' + esc(load(e)) + '</td><td>' + esc(e.ejections) +
        '</td><td>' + esc(e.breaker) + '</td><td>' + esc(e.probe) + '</td><td><button data-id="' + esc(e.id) + '" data-action="' + action + '">' + action + '</button></td></tr>';
    });
    document.getElementById('rows').innerHTML = rows.join('');
  } catch (err) { document.getElementById('meta').textContent = 'unreachable: ' + err; }
}
refresh(); setInterval(refresh, 1000);
</script></body></html>`;
