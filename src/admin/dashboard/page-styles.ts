/** The dashboard's styles (served as /admin/dashboard.css). Colours name endpoint states. */
export const PAGE_CSS = `body{font:14px system-ui,sans-serif;margin:1.5em 2em;background:#0f1115;color:#e6e6e6}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;color:#9ca3af;margin:1.4em 0 .5em;font-weight:600}h3{font-size:14px;margin:1em 0 .3em}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #2a2e36;text-align:left;vertical-align:top}
th{color:#9ca3af;font-weight:500}
.healthy{color:#4ade80}.probation{color:#facc15}.ejected,.drained,.bad{color:#f87171}.rate_limited,.warn{color:#fb923c}
.muted{color:#6b7280}.num{font-variant-numeric:tabular-nums}
button{background:#2a2e36;color:#e6e6e6;border:1px solid #444;border-radius:4px;padding:2px 8px;cursor:pointer}
button:hover{border-color:#888}
#meta{color:#9ca3af}
#problem{background:#3b1d1d;border:1px solid #f87171;color:#fecaca;padding:10px 14px;border-radius:6px;margin:1em 0;font-size:15px}
.provider{border:1px solid #2a2e36;border-radius:6px;padding:4px 12px 10px;margin-bottom:12px}
.region-head{display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
.split{display:grid;grid-template-columns:1fr 1fr;gap:24px}
form{display:flex;gap:10px;flex-wrap:wrap;align-items:end;margin-bottom:8px}
[hidden]{display:none!important}.fields{display:contents}
label{display:flex;flex-direction:column;color:#9ca3af;font-size:12px;gap:2px}
input,select{background:#1a1d23;color:#e6e6e6;border:1px solid #444;border-radius:4px;padding:3px 6px}
#timeline{max-height:360px;overflow:auto;padding-left:2.5em;margin:0}#timeline li{padding:2px 0}
svg text{fill:#9ca3af;font-size:11px}
.legend{display:flex;gap:14px;flex-wrap:wrap;margin-top:4px}
`;
