/**
 * The drill's text report: the figures an operator reads at a terminal, the causes of client errors,
 * and no terminal escapes from names that came through the fleet's store.
 */
import t from 'tap';
import { formatReport } from '../src/drill/drill-command.js';
import type { DrillReport } from '../src/drill/drill-run.js';

const latency = { before: { p50Ms: 10, p99Ms: 20 }, during: { p50Ms: 11, p99Ms: 30 }, after: { p50Ms: 10, p99Ms: 21 } };

t.test('a failed fault drill names its causes; control characters are shown as ?', async (t) => {
  const report: DrillReport = {
    id: 'drill-a-1',
    region: 'a',
    mode: 'fault',
    fault: { kind: 'error', percent: 50, delayMs: 0 },
    origin: 'cli',
    hypothesis: 'h',
    verdict: 'fail',
    reason: 'client error rate 5.00 % exceeds 1 % (RG_ERR_RETRY_BUDGET 5)',
    startedAt: 0,
    durationMs: 3000,
    shiftMs: null,
    clientErrors: 5,
    clientErrorCauses: { RG_ERR_RETRY_BUDGET: 4, http_502: 1 },
    requests: 100,
    maxErrorRatePct: 1,
    restored: false,
    gateways: [{ gatewayId: 'evil\u001b[2J\u0007', shiftMs: null, requests: 100, clientErrors: 5, latency }],
    traffic: { a: 60, 'b\u001b]0;x': 45 },
  };
  const text = formatReport(report);
  t.match(text, /verdict: {4}fail \(client error rate 5\.00 % exceeds 1 % \(RG_ERR_RETRY_BUDGET 5\)\)/);
  t.match(text, /requests: {3}100, client errors 5 \(budget 1 %\): RG_ERR_RETRY_BUDGET 4, http_502 1/);
  t.notOk(/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text), 'no control character but newlines');
  t.match(text, /evil\?\[2J\?/);
  t.match(text, /b\?\]0;x 45/);
});
