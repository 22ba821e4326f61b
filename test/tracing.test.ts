/**
 * OpenTelemetry traces with a real SDK (in-memory exporter): a SERVER span per request continuing the
 * client's trace, a CLIENT span per attempt (a retry shows as a sibling), and W3C trace context sent
 * upstream.
 */
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import t from 'tap';
import { request } from 'undici';
import { refusedUrl, startGateway, startSim } from './helpers/gateway.js';

t.test('a request and its attempts are traced, and the trace continues upstream', async (t) => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  t.teardown(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  const good = await startSim(t, { name: 'b' });
  const gw = await startGateway(
    t,
    [
      { name: 'a', url: await refusedUrl(), priority: 0 },
      { name: 'b', url: good.url, priority: 1 },
    ],
    { health: { probes: false }, telemetry: { tracing: true } },
  );
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await request(`${gw.url}/v1/chat/completions?x=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    body: '{"model":"gpt-4o-mini","messages":[]}',
  });
  t.equal(res.statusCode, 200);
  await res.body.dump();

  const spans = exporter.getFinishedSpans();
  const server = spans.filter((s) => s.kind === SpanKind.SERVER);
  const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT);
  t.equal(server.length, 1, 'one request span');
  t.equal(attempts.length, 2, 'one span per attempt');
  t.equal(server[0].spanContext().traceId, traceId, 'the client\'s trace continues');
  t.equal(server[0].parentSpanContext?.spanId, '00f067aa0ba902b7');
  t.match(server[0].attributes, { 'http.request.method': 'POST', 'url.path': '/v1/chat/completions', 'gen_ai.request.model': 'gpt-4o-mini', 'regiongate.attempts': 2, 'http.response.status_code': 200 });
  for (const a of attempts) t.equal(a.parentSpanContext?.spanId, server[0].spanContext().spanId, 'attempts are children of the request');
  t.same(attempts.map((a) => [a.attributes['regiongate.region'], a.attributes['regiongate.outcome']]), [['a', 'local_origin'], ['b', 'success']]);
  const upstream = good.stats.lastRequest?.headers.traceparent as string | undefined;
  t.equal(upstream, `00-${traceId}-${attempts[1].spanContext().spanId}-01`, 'the upstream gets the attempt span as parent');
});

t.test('telemetry.tracing is live: a reload turns spans on, and off again', async (t) => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  t.teardown(async () => {
    await provider.shutdown();
    trace.disable();
  });
  const sim = await startSim(t, { name: 'a' });
  const gw = await startGateway(t, [{ name: 'a', url: sim.url }], { health: { probes: false } });
  const chat = async (): Promise<void> => {
    const res = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' });
    t.equal(res.statusCode, 200);
    await res.body.dump();
  };
  const servers = (): number => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER).length;
  await chat();
  t.equal(servers(), 0, 'off at start');
  const on = await gw.reload({ ...gw.config, telemetry: { tracing: true } });
  t.same(on.notLive, [], 'applied live');
  await chat();
  t.equal(servers(), 1, 'traced after the reload');
  await gw.reload({ ...gw.config, telemetry: { tracing: false } });
  await chat();
  t.equal(servers(), 1, 'no new span once turned off');
});
