/**
 * What each model server engine calls its load metrics, and how a parsed exposition becomes load
 * signals per served model. Series without a model label count for the whole server (model '').
 *
 * | engine | waiting                       | running                     | KV cache use (0..1)             |
 * |--------|-------------------------------|-----------------------------|---------------------------------|
 * | vllm   | vllm:num_requests_waiting     | vllm:num_requests_running   | vllm:kv_cache_usage_perc (or gpu_cache_usage_perc) |
 * | sglang | sglang:num_queue_reqs         | sglang:num_running_reqs     | sglang:token_usage              |
 * | tgi    | tgi_queue_size                | tgi_batch_current_size      | (none)                          |
 * | trtllm | trtllm_num_requests_waiting   | trtllm_num_requests_running | trtllm_kv_cache_utilization     |
 */
import type { PromSample } from './prometheus-text.js';

export const ENGINES = ['vllm', 'sglang', 'tgi', 'trtllm'] as const;
export type Engine = (typeof ENGINES)[number];

/** One model's load as its server reports it. */
export interface LoadSignals {
  /** Requests queued, not yet scheduled. */
  waiting: number;
  /** Requests being decoded now. */
  running: number;
  /** KV cache use 0..1; undefined when the engine does not publish it. */
  kv: number | undefined;
}

interface EngineNames {
  readonly waiting: readonly string[];
  readonly running: readonly string[];
  readonly kv: readonly string[];
}

const NAMES: Readonly<Record<Engine, EngineNames>> = {
  vllm: {
    waiting: ['vllm:num_requests_waiting'],
    running: ['vllm:num_requests_running'],
    kv: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
  },
  sglang: { waiting: ['sglang:num_queue_reqs'], running: ['sglang:num_running_reqs'], kv: ['sglang:token_usage'] },
  tgi: { waiting: ['tgi_queue_size'], running: ['tgi_batch_current_size'], kv: [] },
  trtllm: {
    waiting: ['trtllm_num_requests_waiting'],
    running: ['trtllm_num_requests_running'],
    kv: ['trtllm_kv_cache_utilization'],
  },
};

/** Label names that carry the served model, in order of preference. */
const MODEL_LABELS = ['model_name', 'model'] as const;

function modelOf(labels: Readonly<Record<string, string>>): string {
  for (const l of MODEL_LABELS) if (labels[l] !== undefined) return labels[l];
  return '';
}

/**
 * Signals per model (key '' = series without a model label). Throws when the exposition holds no
 * waiting-queue series of the engine: a page that is not the engine's metrics is not "idle".
 */
export function extractSignals(engine: Engine, samples: readonly PromSample[]): Map<string, LoadSignals> {
  const names = NAMES[engine];
  const out = new Map<string, LoadSignals>();
  const get = (model: string): LoadSignals => {
    let s = out.get(model);
    if (s === undefined) out.set(model, (s = { waiting: 0, running: 0, kv: undefined }));
    return s;
  };
  let sawWaiting = false;
  for (const sample of samples) {
    const v = sample.value;
    if (!Number.isFinite(v) || v < 0) continue; // NaN or negative gauges say nothing usable
    if (names.waiting.includes(sample.name)) {
      sawWaiting = true;
      get(modelOf(sample.labels)).waiting += v;
    } else if (names.running.includes(sample.name)) {
      get(modelOf(sample.labels)).running += v;
    } else if (names.kv.includes(sample.name)) {
      const s = get(modelOf(sample.labels));
      // Several series (one per GPU rank) for one model: the fullest decides.
      s.kv = Math.max(s.kv ?? 0, Math.min(1, v));
    }
  }
  if (!sawWaiting) throw new Error(`no ${names.waiting[0]} series in the exposition`);
  return out;
}
