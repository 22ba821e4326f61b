/**
 * The drill panel's part of the dashboard script, spliced into the page script's closure (it uses its
 * `$`, `esc`, `ms`, `act` and `button`): the drill form (drain, or a fault with kind, percent and delay)
 * posts `POST /admin/drills/run`, so a drill started here runs the same engine as `regiongate drill` on
 * this gateway and keeps its record; the kept drills; and the active faults, each with its `unfault`
 * button. Plain ES2020 inside `String.raw`, like the page script.
 */
export const DRILL_PANEL_SCRIPT = String.raw`
  function faultLabel(s) {
    return s ? s.kind + (s.kind === 'slow' ? ' ' + s.delayMs + ' ms' : '') + ' · ' + s.percent + '%' : '';
  }

  function renderDrills(drills) {
    if (!drills) { $('drills').innerHTML = '<tr><td colspan="7" class="muted">drills unavailable (store unreachable)</td></tr>'; return; }
    $('drills').innerHTML = drills.slice(0, 20).map(function (d) {
      var r = d.report || {};
      var mode = d.mode === 'fault' ? 'fault ' + faultLabel(r.fault) : (d.mode || 'drain');
      return '<tr data-drill="' + esc(d.id) + '" data-status="' + esc(d.status) + '"><td>' + esc(d.id) + '</td><td>' + esc(d.region) + '</td><td>' + esc(mode) +
        (d.origin ? ' <span class="muted">(' + esc(d.origin) + ')</span>' : '') + '</td><td class="' + (d.status === 'pass' ? 'healthy' : d.status === 'running' ? 'probation' : 'bad') + '">' +
        esc(d.status) + (d.abandoned ? ' (abandoned)' : '') + '</td><td class="num">' + esc(ms(r.shiftMs)) + '</td><td class="num">' + esc(r.clientErrors == null ? '–' : r.clientErrors) +
        '</td><td class="num">' + esc(r.requests == null ? '–' : r.requests) + '</td></tr>';
    }).join('') || '<tr><td colspan="7" class="muted">no drills kept</td></tr>';
  }

  function renderFaults(faults, now) {
    $('faults').innerHTML = (faults || []).map(function (f) {
      var left = typeof now === 'number' && typeof f.until === 'number' ? Math.max(0, Math.round((f.until - now) / 1000)) + ' s' : '–';
      return '<tr data-fault="' + esc(f.endpointId) + '"><td>' + esc(f.endpointId) + '</td><td class="warn">' + esc(faultLabel(f.spec)) + '</td><td>' + esc(f.reason) +
        '</td><td class="num">' + esc(left) + '</td><td>' + button('endpoints', f.endpointId, 'unfault') + '</td></tr>';
    }).join('') || '<tr><td colspan="5" class="muted">no active faults</td></tr>';
  }

  function drillBody() {
    var mode = $('drill-mode').value;
    var body = { region: $('drill-region').value, duration: $('drill-seconds').value + 's', maxErrorRate: Number($('drill-max-errors').value), mode: mode };
    if (mode === 'fault') {
      body.fault = $('drill-fault').value;
      body.percent = Number($('drill-percent').value);
      if (body.fault === 'slow') body.delay = $('drill-delay').value + 'ms';
    }
    return body;
  }

  function setUpDrillForm() {
    var showFault = function () {
      var fault = $('drill-mode').value === 'fault';
      $('drill-fault-fields').hidden = !fault;
      $('drill-delay-field').hidden = !fault || $('drill-fault').value !== 'slow';
    };
    $('drill-mode').addEventListener('change', showFault);
    $('drill-fault').addEventListener('change', showFault);
    showFault();
    $('drill-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var body = drillBody();
      var what = (body.mode === 'fault' ? body.fault + ' fault ' + body.percent + '% ' : '') + 'drill of ' + body.region + ' for ' + body.duration;
      $('drill-result').textContent = 'starting a ' + what + '…';
      act('/admin/drills/run', '', body).then(function (r) {
        $('drill-result').textContent = r.started ? what + ': started as ' + r.started + ' (its record and verdict appear below)' : what + ': ' + r.text;
      });
    });
  }
`;
