// The Prometheus text reader and the per-engine signal extraction, on real servers' exposition shapes,
// and the simulator's capacity model behind its vLLM /metrics.
import t from 'tap';
import { request } from 'undici';
import { extractSignals } from '../src/load/engine-metrics.js';
import { parsePrometheusText, PrometheusParseError } from '../src/load/prometheus-text.js';
import { startSim } from './helpers/gateway.js';
import { until } from './helpers/wait.js';

const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.8125
vllm:prompt_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.2345e+06
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 42
`;

t.test('vLLM, SGLang, TGI and TRT-LLM expositions give waiting, running and KV per model', async (t) => {
  const v = extractSignals('vllm', parsePrometheusText(VLLM)).get('meta-llama/Llama-3.1-8B-Instruct');
  t.same(v, { waiting: 7, running: 12, kv: 0.8125 });
  const sg = extractSignals(
    'sglang',
    parsePrometheusText('sglang:num_queue_reqs{model_name="qwen"} 3\nsglang:num_running_reqs{model_name="qwen"} 9\nsglang:token_usage{model_name="qwen"} 0.41\n'),
  );
  t.same(sg.get('qwen'), { waiting: 3, running: 9, kv: 0.41 });
  const tgi = extractSignals('tgi', parsePrometheusText('# TYPE tgi_queue_size gauge\ntgi_queue_size 4\ntgi_batch_current_size 16\n'));
  t.same(tgi.get(''), { waiting: 4, running: 16, kv: undefined }, 'TGI publishes no KV use and no model label');
  const trt = extractSignals(
    'trtllm',
    parsePrometheusText('trtllm_num_requests_waiting{model="m"} 1\ntrtllm_kv_cache_utilization{model="m"} 0.2\n'),
  );
  t.same(trt.get('m'), { waiting: 1, running: 0, kv: 0.2 });
});

t.test('two models on one server keep their own signals', async (t) => {
  const s = extractSignals(
    'vllm',
    parsePrometheusText('vllm:num_requests_waiting{model_name="a"} 9\nvllm:num_requests_waiting{model_name="b"} 0\n'),
  );
  t.equal(s.get('a')?.waiting, 9);
  t.equal(s.get('b')?.waiting, 0);
});

t.test('malformed expositions are refused whole, naming the line', async (t) => {
  const bad = [
    'vllm:num_requests_waiting{model_name="a} 1\n',
    'vllm:num_requests_waiting{model_name="a"} one\n',
    'vllm:num_requests_waiting{model_name="a"}1\n',
    'vllm:num_requests_waiting 1 2 3\n',
    '{model_name="a"} 1\n',
    'vllm:num_requests_waiting{a="1",a="2"} 1\n',
    '<html><body>login</body></html>\n',
  ];
  for (const text of bad) t.throws(() => parsePrometheusText(`# ok\n${text}`), PrometheusParseError, JSON.stringify(text));
  t.throws(() => parsePrometheusText('x 1\ny{'), /line 2/);
  t.throws(() => extractSignals('vllm', parsePrometheusText('process_cpu_seconds_total 3\n')), /no vllm:num_requests_waiting/, 'a page without the engine metrics is not "idle"');
  t.same(parsePrometheusText('a{b="x\\"y\\\\z\\n"} +Inf 1700000000000\n')[0].labels, { b: 'x"y\\z\n' });
});

t.test('simulator capacity model: a full server queues, and /metrics says so in vLLM format', async (t) => {
  const sim = await startSim(t, { name: 'near', capacity: 2, ttftMs: 60_000, models: ['m'] });
  const abort = new AbortController();
  const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  const inflight = [0, 1, 2].map(() =>
    request(`${sim.url}/v1/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: abort.signal }).catch(() => undefined),
  );
  await until('two running, one waiting', () => sim.load.waiting === 1 && sim.load.running === 2);
  const res = await request(`${sim.url}/metrics`);
  t.match(res.headers['content-type'], /^text\/plain/);
  const signals = extractSignals('vllm', parsePrometheusText(await res.body.text())).get('m');
  t.same(signals, { waiting: 1, running: 2, kv: 1 }, 'KV use grows with the running sequences: full at capacity');
  abort.abort();
  await Promise.all(inflight);
  await until('the queue drains when clients leave', () => sim.load.waiting === 0 && sim.load.running === 0);
  sim.setLoadReport({ waiting: 40, running: 8, kv: 0.95 });
  const pinned = extractSignals('vllm', parsePrometheusText(await (await request(`${sim.url}/metrics`)).body.text())).get('m');
  t.same(pinned, { waiting: 40, running: 8, kv: 0.95 }, 'a pinned report wins');
});

t.test('a bad loadSignals config is refused naming the key', async (t) => {
  const { resolveConfig } = await import('../src/config/index.js');
  const cfg = (loadSignals: unknown) => ({ regions: [{ name: 'a', endpoints: [{ url: 'http://x', loadSignals }] }] });
  t.throws(() => resolveConfig(cfg({ engine: 'ollama' }), {}), /loadSignals\.engine.*must be "vllm", "sglang", "tgi" or "trtllm"/s);
  t.throws(() => resolveConfig(cfg({ engine: 'vllm', path: 'metrics' }), {}), /loadSignals\.path.*must start with/s);
  t.throws(() => resolveConfig(cfg({ engine: 'vllm', interval: 0 }), {}), /loadSignals\.interval/);
  const ok = resolveConfig(cfg({ engine: 'sglang' }), {});
  t.same(ok.regions[0].endpoints[0].loadSignals, { engine: 'sglang', path: '/metrics', interval: 500 });
});
