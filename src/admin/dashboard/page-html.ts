/**
 * The dashboard's page: structure only. Its script and styles are separate same-origin files, so the page
 * runs under a strict Content-Security-Policy (no inline script or style), and it carries no data: the
 * script fetches everything with the token from the URL fragment.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>regiongate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/admin/dashboard.css">
<script src="/admin/dashboard.js" defer></script>
</head><body>
<header><h1>regiongate</h1><div id="meta">connecting…</div></header>
<div id="problem" hidden></div>
<main>
<section><h2>Gateways</h2><table><thead><tr><th>gateway</th><th>last heard</th><th>requests</th><th>client errors</th><th>in flight</th><th>ttfb p50 / p99</th></tr></thead><tbody id="gateways"></tbody></table></section>
<section><h2>Traffic share by region</h2><div id="chart"></div></section>
<section><h2>Regions and endpoints</h2><div id="regions"></div></section>
<section class="split">
<div><h2>Drill</h2>
<form id="drill-form">
<label>region <select id="drill-region" required></select></label>
<label>duration (s) <input id="drill-seconds" type="number" min="1" max="86400" value="30" required></label>
<label>mode <select id="drill-mode"><option value="drain">drain (region out fleet-wide)</option><option value="fault">fault (injected fleet-wide)</option></select></label>
<span id="drill-fault-fields" class="fields">
<label>fault <select id="drill-fault"><option value="error">error</option><option value="hang">hang</option><option value="slow">slow</option></select></label>
<label>percent <input id="drill-percent" type="number" min="0" max="100" value="50" required></label>
<label id="drill-delay-field">delay (ms) <input id="drill-delay" type="number" min="1" max="600000" value="500"></label>
</span>
<label>max client errors (%) <input id="drill-max-errors" type="number" min="0" max="100" step="0.1" value="1" required></label>
<button type="submit">start drill</button>
</form>
<div id="drill-result"></div>
<table><thead><tr><th>drill</th><th>region</th><th>mode</th><th>status</th><th>shift</th><th>client errors</th><th>requests</th></tr></thead><tbody id="drills"></tbody></table>
<h2>Active faults</h2>
<table><thead><tr><th>endpoint</th><th>fault</th><th>drill</th><th>ends in</th><th></th></tr></thead><tbody id="faults"></tbody></table>
</div>
<div><h2>Timeline</h2><ol id="timeline" reversed></ol></div>
</section>
</main>
</body></html>`;
