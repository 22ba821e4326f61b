/**
 * The dashboard's script (served as /admin/dashboard.js). It reads `GET /admin/events` with `fetch` and
 * parses the server-sent events itself: `EventSource` cannot send an `Authorization` header, and a token
 * in a query string would end up in access logs. Every value is HTML-escaped before it reaches the page
 * (a cause or a gateway id can come from another gateway through the fleet store). Buttons send
 * `X-Regiongate-Admin: 1`, the header the admin API requires of state changes (see `admin-guard.ts`);
 * a drain that would strand a model answers 409 and is repeated with `?force=true` only once the
 * operator confirms. Plain ES2020, no template literals (this file is one). The drill panel's part is in
 * `page-drill-panel.ts`.
 */
import { DRILL_PANEL_SCRIPT } from './page-drill-panel.js';

export const PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var token = new URLSearchParams(location.hash.slice(1)).get('token');
  var auth = token ? { authorization: 'Bearer ' + token } : {};
  var $ = function (id) { return document.getElementById(id); };
  var esc = function (v) { return String(v == null ? '' : v).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); };
  var num = function (v, digits) { return typeof v === 'number' && isFinite(v) ? v.toFixed(digits || 0) : '–'; };
  var ms = function (v) { return typeof v === 'number' && isFinite(v) ? Math.round(v) + ' ms' : '–'; };
  var COLORS = ['#60a5fa', '#f472b6', '#34d399', '#fbbf24', '#a78bfa', '#f87171', '#22d3ee', '#a3e635'];
  var timeline = [];
  var last = null;
  var regionsShown = '';

  function problem(text) {
    var p = $('problem');
    p.hidden = !text;
    p.textContent = text || '';
  }

  function tokenHelp(status) {
    var where = location.origin + location.pathname + '#token=…';
    return (token ? 'admin token wrong (' + status + '): open ' : 'admin token required: open ') + where + ' with the gateway\'s admin.token';
  }

  async function errorText(res) {
    try { return (await res.json()).error.message; } catch (e) { return 'HTTP ' + res.status; }
  }

  // One stream at a time; after an end or error, one reconnect in 2 s.
  var retry = null;
  function again(ms) { if (!retry) retry = setTimeout(function () { retry = null; connect(); }, ms); }

  async function connect() {
    var res;
    try {
      res = await fetch('/admin/events', { headers: auth, cache: 'no-store' });
    } catch (err) {
      problem('gateway unreachable: ' + err.message + ' (retrying)');
      return again(2000);
    }
    if (res.status === 401) { problem(tokenHelp(res.status)); return again(5000); }
    if (!res.ok || !res.body) { problem('event stream refused: ' + (await errorText(res)) + ' (retrying)'); return again(2000); }
    problem('');
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          onFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      problem('event stream ended (gateway closing?): reconnecting');
    } catch (err) {
      problem('event stream broken: ' + err.message + ' (reconnecting)');
    }
    again(2000);
  }

  function onFrame(text) {
    var event = 'message', data = '';
    text.split('\n').forEach(function (line) {
      if (line.indexOf('event: ') === 0) event = line.slice(7);
      else if (line.indexOf('data: ') === 0) data += line.slice(6);
    });
    if (!data) return;
    var value;
    try { value = JSON.parse(data); } catch (e) { return; }
    if (event === 'snapshot') { last = value; timeline = value.timeline || []; render(value); }
    else if (event === 'timeline') { timeline.push(value); if (timeline.length > 200) timeline.shift(); renderTimeline(); }
  }

  function render(s) {
    var st = s.state || {};
    var fleet = s.fleet || { gateways: [] };
    $('meta').textContent = 'gateway ' + st.gatewayId + ' · ' + (st.draining ? 'draining' : 'serving') +
      ' · in flight ' + st.inflight + (st.store ? ' · store ' + st.store.store + (st.store.degraded ? ' (degraded)' : '') : '') +
      (typeof st.retryBudget === 'number' ? ' · retry budget ' + st.retryBudget.toFixed(1) : '') +
      (fleet.stale ? ' · FLEET VIEW STALE (store unreachable: other gateways as last heard)' : '') +
      (st.fleet && st.fleet.trust === 'trusts every writer' ? ' · fleet UNSIGNED: trusts every writer of Redis (set state.secret)' : '');
    renderGateways(fleet);
    var shares = s.shares || [];
    renderChart(shares);
    renderRegions(st.endpoints || [], s.providers || {}, fleet, shares);
    renderDrills(s.drills);
    renderFaults(st.faults, s.at);
    renderTimeline();
    var names = Object.keys(s.providers || {}).sort();
    if (names.join('\n') !== regionsShown) {
      regionsShown = names.join('\n');
      $('drill-region').innerHTML = names.map(function (n) { return '<option value="' + esc(n) + '">' + esc(n) + '</option>'; }).join('');
    }
  }

  function renderGateways(fleet) {
    var interval = fleet.intervalMs || 1000;
    $('gateways').innerHTML = (fleet.gateways || []).map(function (g) {
      var stale = g.lastHeardMsAgo > interval * 3 || (g.self && fleet.stale);
      return '<tr data-gateway="' + esc(g.gatewayId) + '"><td>' + esc(g.gatewayId) + (g.self ? ' <span class="muted">(this one)</span>' : '') +
        '</td><td class="' + (stale ? 'bad' : '') + '">' + esc((g.lastHeardMsAgo / 1000).toFixed(1)) + ' s ago' + (stale ? ' · STALE' : '') +
        '</td><td class="num">' + esc(g.requests) + '</td><td class="num">' + esc(g.clientErrors) + '</td><td class="num">' + esc(g.inflight) +
        '</td><td class="num">' + esc(ms(g.p50Ms)) + ' / ' + esc(ms(g.p99Ms)) + '</td></tr>';
    }).join('');
  }

  function regionNames(shares) {
    var names = {};
    shares.forEach(function (x) { Object.keys(x.regions).forEach(function (n) { names[n] = true; }); });
    return Object.keys(names).sort();
  }

  /** Percent of the sample's attempts that went to the region; null when the sample saw no traffic. */
  function shareOf(sample, region) {
    var total = 0;
    Object.keys(sample.regions).forEach(function (n) { total += sample.regions[n].attempts; });
    return total === 0 ? null : (100 * (sample.regions[region] ? sample.regions[region].attempts : 0)) / total;
  }

  function renderChart(shares) {
    // Drawn at the panel's own width (no scaling: text stays its size).
    var W = Math.max(480, $('chart').clientWidth || 720), H = 180, L = 36, B = 20;
    var names = regionNames(shares);
    var n = shares.length;
    var x = function (i) { return L + (n <= 1 ? 0 : ((W - L - 8) * i) / (n - 1)); };
    var y = function (p) { return 8 + (H - B - 8) * (1 - p / 100); };
    var svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" width="' + W + '" height="' + H + '" role="img" aria-label="traffic share per region">';
    [0, 50, 100].forEach(function (p) {
      svg += '<line x1="' + L + '" x2="' + (W - 8) + '" y1="' + y(p) + '" y2="' + y(p) + '" stroke="#2a2e36"/><text x="2" y="' + (y(p) + 4) + '">' + p + '%</text>';
    });
    names.forEach(function (name, k) {
      var pts = [];
      shares.forEach(function (s, i) { var p = shareOf(s, name); if (p !== null) pts.push(x(i).toFixed(1) + ',' + y(p).toFixed(1)); });
      if (pts.length) svg += '<polyline fill="none" stroke-width="2" stroke="' + COLORS[k % COLORS.length] + '" points="' + pts.join(' ') + '"/>';
    });
    if (n > 1) {
      var span = Math.round((shares[n - 1].at - shares[0].at) / 1000);
      svg += '<text x="' + L + '" y="' + (H - 4) + '">' + esc(span) + ' s ago</text><text x="' + (W - 40) + '" y="' + (H - 4) + '">now</text>';
    } else svg += '<text x="' + L + '" y="' + (H / 2) + '">collecting samples…</text>';
    svg += '</svg><div class="legend">' + names.map(function (name, k) {
      return '<span><svg width="12" height="12"><rect width="12" height="12" fill="' + COLORS[k % COLORS.length] + '"/></svg> ' + esc(name) + '</span>';
    }).join('') + '</div>';
    $('chart').innerHTML = svg;
  }

  function loadCells(e) {
    var l = e.loadSignals;
    if (!l) return '<span class="muted">no load signals</span>';
    if (!l.total) return '<span class="warn">' + esc(l.engine) + ': not read yet' + (l.lastError ? ' (' + esc(l.lastError) + ')' : '') + '</span>';
    return esc(l.engine) + ' · waiting ' + esc(l.total.waiting) + ' · running ' + esc(l.total.running) + ' · KV ' + esc(num(100 * l.total.kv)) + '%' +
      ' · age ' + esc(l.ageMs) + ' ms' + (l.source ? ' <span class="muted">read by ' + esc(l.source) + '</span>' : '') +
      (l.fresh ? '' : ' <span class="warn">stale: latency only</span>') +
      (l.predicted ? '<br>predicted waiting ' + esc(num(l.predicted.waiting, 1)) + ' · running ' + esc(num(l.predicted.running, 1)) : '') +
      (typeof e.score === 'number' ? ' · score ' + esc(num(e.score, 1)) : '') + (l.saturated ? ' <span class="bad">SATURATED</span>' : '');
  }

  function button(scope, name, action) {
    return '<button data-scope="' + scope + '" data-name="' + esc(name) + '" data-action="' + action + '">' + action + '</button>';
  }

  function renderRegions(endpoints, providers, fleet, shares) {
    var byRegion = {};
    endpoints.forEach(function (e) { (byRegion[e.region] = byRegion[e.region] || []).push(e); });
    Object.keys(providers).forEach(function (r) { byRegion[r] = byRegion[r] || []; });
    var byProvider = {};
    Object.keys(byRegion).sort().forEach(function (r) { var p = providers[r] || 'unknown'; (byProvider[p] = byProvider[p] || []).push(r); });
    var latest = shares.length ? shares[shares.length - 1] : null;
    var html = '';
    Object.keys(byProvider).sort().forEach(function (provider) {
      html += '<div class="provider" data-provider="' + esc(provider) + '"><h3>' + esc(provider) + '</h3>';
      byProvider[provider].forEach(function (region) {
        var eps = byRegion[region];
        var share = latest ? shareOf(latest, region) : null;
        var t = latest && latest.regions[region];
        var errRate = t && t.attempts > 0 ? (100 * t.errors) / t.attempts : null;
        // Fleet-wide percentiles: every gateway's last window merged (the totals' shared buckets).
        var tot = fleet.totals && fleet.totals.regions ? fleet.totals.regions[region] : null;
        var p50 = tot && tot.p50Ms != null ? tot.p50Ms : null, p99 = tot && tot.p99Ms != null ? tot.p99Ms : null, inflight = 0;
        (fleet.gateways || []).forEach(function (g) {
          (g.regions || []).forEach(function (r) { if (r.region === region) inflight += r.inflight; });
        });
        var allDrained = eps.length > 0 && eps.every(function (e) { return e.state === 'drained'; });
        html += '<div class="region-head"><strong>' + esc(region) + '</strong>' +
          '<span>share <b data-share="' + esc(region) + '">' + (share === null ? '–' : esc(Math.round(share)) + '%') + '</b></span>' +
          '<span>errors <b class="' + (errRate ? 'bad' : '') + '">' + (errRate === null ? '–' : esc(num(errRate, 1)) + '%') + '</b></span>' +
          '<span>ttfb p50 / p99 ' + esc(ms(p50)) + ' / ' + esc(ms(p99)) + ' <span class="muted">(all gateways)</span></span>' +
          '<span>in flight ' + esc(inflight) + '</span>' + button('regions', region, allDrained ? 'undrain' : 'drain') + '</div>';
        html += '<table><thead><tr><th>endpoint</th><th>state</th><th>why</th><th>ttfb ewma</th><th>in flight</th><th>load signals</th><th></th></tr></thead><tbody>' +
          eps.map(function (e) {
            return '<tr data-endpoint="' + esc(e.id) + '"><td>' + esc(e.id) + '</td><td class="' + esc(e.state) + '">' + esc(e.state) + '</td><td>' + esc(e.cause || '') +
              '</td><td class="num">' + esc(num(e.ewmaMs, 1)) + ' ms</td><td class="num">' + esc(e.inflight) + '</td><td>' + loadCells(e) + '</td><td>' +
              // An ejected endpoint the operator knows is fixed goes back on every gateway (a fleet uneject).
              (e.state === 'ejected' ? button('endpoints', e.id, 'uneject') + ' ' : '') +
              button('endpoints', e.id, e.state === 'drained' ? 'undrain' : 'drain') + '</td></tr>';
          }).join('') + '</tbody></table>';
      });
      html += '</div>';
    });
    $('regions').innerHTML = html;
  }

  function renderTimeline() {
    $('timeline').innerHTML = timeline.slice().reverse().map(function (e) {
      return '<li><span class="muted">' + esc(new Date(e.at).toLocaleTimeString()) + '</span> ' + esc(e.kind) + ' <b>' + esc(e.subject) + '</b> ' + esc(e.text) + '</li>';
    }).join('');
  }

  /**
   * POST an admin action (query parameters, or a JSON body); a 409 that would strand a model is repeated
   * with force once confirmed. Resolves to the answer's body with text: 'done', or why not.
   */
  async function act(path, query, body) {
    var headers = Object.assign({ 'x-regiongate-admin': '1' }, auth, body ? { 'content-type': 'application/json' } : {});
    var send = function (force) {
      var q = force ? (query ? query + '&' : '') + 'force=true' : query;
      var b = body ? JSON.stringify(force ? Object.assign({}, body, { force: true }) : body) : undefined;
      return fetch(path + (q ? '?' + q : ''), { method: 'POST', headers: headers, body: b });
    };
    var res = await send(false);
    if (res.status === 409) {
      var answer = await res.json().catch(function () { return {}; });
      var why = answer.error && answer.error.message || 'HTTP 409';
      if (!answer.error || answer.error.code !== 'RG_ADMIN_STRANDS_MODEL') return { text: 'refused: ' + why };
      if (!confirm(why + ' Do it anyway?')) return { text: 'not done: ' + why };
      res = await send(true);
    }
    if (res.status === 401) { problem(tokenHelp(res.status)); return { text: 'refused: admin token' }; }
    if (!res.ok) return { text: 'refused: ' + (await errorText(res)) };
    var done = await res.json().catch(function () { return {}; });
    done.text = 'done';
    return done;
  }
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('button[data-action]');
    if (!b) return;
    b.disabled = true;
    act('/admin/' + b.dataset.scope + '/' + encodeURIComponent(b.dataset.name) + '/' + b.dataset.action, '').then(function (r) {
      if (r.text !== 'done') problem(b.dataset.action + ' ' + b.dataset.name + ': ' + r.text);
    });
  });

  document.addEventListener('DOMContentLoaded', function () {
    setUpDrillForm();
    connect();
  });
${DRILL_PANEL_SCRIPT}})();
`;
