// Merging the metrics of several workers: a worker label on every sample, one HELP/TYPE per family, the
// samples of a family kept together, and label values escaped. Fed by the gateway's own registry.
import t from 'tap';
import { Metrics } from '../src/telemetry/metrics.js';
import { mergeMetrics, withLabel } from '../src/telemetry/merge-metrics.js';

function workerMetrics(requests: number, inflight: number): string {
  const m = new Metrics();
  const c = m.counter('rg_requests_total', 'Requests.');
  c.inc({ class: '2xx' }, requests);
  c.inc({ class: '5xx' }, 1);
  m.gauge('rg_inflight', 'In flight.', () => [[{}, inflight]]);
  return m.render();
}

t.test('every sample gains the worker label; each family keeps one HELP and TYPE', async (t) => {
  const text = mergeMetrics([
    { worker: 'gw-w1', text: workerMetrics(7, 2) },
    { worker: 'gw-w2', text: workerMetrics(3, 0) },
  ]);
  t.equal(
    text,
    [
      '# HELP rg_requests_total Requests.',
      '# TYPE rg_requests_total counter',
      'rg_requests_total{worker="gw-w1",class="2xx"} 7',
      'rg_requests_total{worker="gw-w1",class="5xx"} 1',
      'rg_requests_total{worker="gw-w2",class="2xx"} 3',
      'rg_requests_total{worker="gw-w2",class="5xx"} 1',
      '# HELP rg_inflight In flight.',
      '# TYPE rg_inflight gauge',
      'rg_inflight{worker="gw-w1"} 2',
      'rg_inflight{worker="gw-w2"} 0',
      '',
    ].join('\n'),
  );
});

t.test('a family only one worker has, untyped samples, comments and odd names', async (t) => {
  const text = mergeMetrics([
    { worker: 'a', text: '# HELP only_a A.\n# TYPE only_a gauge\nonly_a 1\n# a comment\n' },
    { worker: 'b"\\\n', text: 'untyped_total 4\nuntyped_total{x="y"} 5\n' },
  ]);
  t.match(text, /^only_a\{worker="a"\} 1$/m);
  t.notMatch(text, /a comment/, 'comments of a part are dropped');
  t.match(text, /^untyped_total\{worker="b\\"\\\\\\n"\} 4$/m, 'label value escaped');
  t.match(text, /^untyped_total\{worker="b\\"\\\\\\n",x="y"\} 5$/m);
  t.equal(mergeMetrics([]), '', 'no workers, no samples');
});

t.test('withLabel', async (t) => {
  t.equal(withLabel('m 1', 'w="1"'), 'm{w="1"} 1');
  t.equal(withLabel('m{} 1', 'w="1"'), 'm{w="1"} 1');
  t.equal(withLabel('m{a="x y"} 1', 'w="1"'), 'm{w="1",a="x y"} 1');
  t.equal(withLabel('m 1 1700000000000', 'w="1"'), 'm{w="1"} 1 1700000000000', 'timestamp kept');
  t.equal(withLabel('garbage', 'w="1"'), 'garbage', 'a line without a value is left alone');
});
