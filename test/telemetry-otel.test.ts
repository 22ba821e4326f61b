/**
 * OpenTelemetry metrics with a real SDK (`MeterProvider` and an in-memory exporter): the request metrics
 * of `/metrics` under the same names, recorded only when a meter provider is registered.
 */
import { metrics } from '@opentelemetry/api';
import { DataPointType, InMemoryMetricExporter, AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import t from 'tap';
import { request } from 'undici';
import { encodeFault } from '../src/fault/fault-spec.js';
import { OtelMetrics } from '../src/telemetry/otel-metrics.js';
import { refusedUrl, startGateway, startSim } from './helpers/gateway.js';

t.test('without a meter provider nothing is recorded through OpenTelemetry', async (t) => {
  t.equal(OtelMetrics.fromGlobal('test'), undefined);
});

t.test('with a meter provider: duration, first byte, requests by model and retries by reason, same names', async (t) => {
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    // Collected on demand below; the period only has to outlast the test.
    exportIntervalMillis: 3_600_000,
  });
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  t.teardown(async () => {
    await provider.shutdown();
    metrics.disable();
  });

  const good = await startSim(t, { name: 'good' });
  const gw = await startGateway(
    t,
    [
      { name: 'dead', url: await refusedUrl(), priority: 0, models: ['m'] },
      { name: 'good', url: good.url, priority: 1, models: ['m'] },
    ],
    { health: { probes: false } },
  );
  const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{"model":"m","messages":[]}', headers: { 'content-type': 'application/json' } });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-regiongate-attempts'], '2');
  await res.body.dump();

  const { resourceMetrics } = await reader.collect();
  const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  const named = (name: string) => all.find((m) => m.descriptor.name === name);

  const duration = named('regiongate_request_duration_seconds');
  t.equal(duration?.dataPointType, DataPointType.HISTOGRAM);
  t.equal(duration?.descriptor.unit, 's');
  const point = duration?.dataPoints.find((p) => p.attributes.region === 'good');
  t.equal((point?.value as { count: number } | undefined)?.count, 1, 'one request answered by region "good"');
  const ttfb = named('regiongate_time_to_first_byte_seconds')?.dataPoints.find((p) => p.attributes.region === 'good');
  t.equal((ttfb?.value as { count: number } | undefined)?.count, 1);
  const byModel = named('regiongate_model_requests_total')?.dataPoints.find((p) => p.attributes.model === 'm' && p.attributes.class === '2xx');
  t.equal(byModel?.value, 1);
  const retries = named('regiongate_retries_total')?.dataPoints.find((p) => p.attributes.reason === 'connect_refused');
  t.equal(retries?.value, 1, 'the refused attempt, by reason');

  // A drill's injected fault is counted under the Prometheus name too.
  gw.fleet.fault('good-0', encodeFault({ kind: 'slow', percent: 100, delayMs: 1 }, 'otel-drill'), 60_000);
  const slow = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{"model":"m","messages":[]}', headers: { 'content-type': 'application/json' } });
  t.equal(slow.statusCode, 200);
  await slow.body.dump();
  const again = (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  const faults = again.find((m) => m.descriptor.name === 'regiongate_faults_injected_total')?.dataPoints.find((p) => p.attributes.region === 'good');
  t.same([faults?.attributes.fault, faults?.value], ['slow', 1], 'the injected fault, by region and kind');
});
