/**
 * Options of a `RegionSimulator`, their validation and defaults, and the shape of its counters.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SimProfile } from './sim-exchange.js';

export interface RegionSimulatorOptions {
  /** The region name; answers carry it in `x-sim-region` and in the completion text. */
  name: string;
  /** The provider, for demo configs (`aws`, `gcp`, `onprem`); informative only. */
  provider?: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Latency before response headers, in ms (default 0). */
  latencyMs?: number;
  /** Time to first token after the headers of a stream, in ms (default 0). */
  ttftMs?: number;
  /** Tokens per answer (default 16); a request's `max_tokens` caps it. */
  tokens?: number;
  /** Pace between tokens, in ms (default 0). */
  tokenIntervalMs?: number;
  /** Served model ids; `'*'` (the default) serves any. */
  models?: readonly string[];
  /**
   * Concurrent sequences the server runs (vLLM's max_num_seqs); more chat completions queue, FIFO, so
   * time to first token grows with the queue. Default 0 = unlimited (no queue, always reports idle).
   */
  capacity?: number;
  /** KV cache share one running sequence takes, 0..1 (default 1 / capacity, so full at capacity). */
  kvPerSequence?: number;
  /** Random source in [0, 1) for fault probabilities (default `Math.random`). */
  random?: () => number;
}

export interface SimRequestRecord {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SimStats {
  /** Requests received, upgrades included. */
  requests: number;
  /** Requests per raw path (no query string). */
  byPath: Record<string, number>;
  /** Upgrade requests received. */
  upgrades: number;
  /** Requests a fault acted on (`down` refuses connections, so it counts none). */
  faulted: number;
  lastRequest?: SimRequestRecord;
}

/** Validate options (throws a `TypeError` listing every problem) and resolve the profile with defaults. */
export function resolveProfile(o: RegionSimulatorOptions): SimProfile {
  const issues: string[] = [];
  if (typeof o.name !== 'string' || o.name === '') issues.push('name: must be a non-empty string');
  for (const key of ['port', 'latencyMs', 'ttftMs', 'tokens', 'tokenIntervalMs', 'capacity'] as const) {
    const value = o[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) issues.push(`${key}: must be an integer >= 0`);
  }
  if (o.models !== undefined && (o.models.length === 0 || o.models.some((m) => typeof m !== 'string' || m === ''))) {
    issues.push('models: must be a non-empty list of model ids');
  }
  const kv = o.kvPerSequence;
  if (kv !== undefined && !(typeof kv === 'number' && kv >= 0 && kv <= 1)) issues.push('kvPerSequence: must be a number 0..1');
  if (issues.length > 0) throw new TypeError(`invalid simulator options:\n  ${issues.join('\n  ')}`);
  return Object.freeze({
    name: o.name,
    latencyMs: o.latencyMs ?? 0,
    ttftMs: o.ttftMs ?? 0,
    tokens: o.tokens ?? 16,
    tokenIntervalMs: o.tokenIntervalMs ?? 0,
    models: Object.freeze([...(o.models ?? ['*'])]),
    capacity: o.capacity ?? 0,
    kvPerSequence: o.kvPerSequence ?? (o.capacity ? 1 / o.capacity : 0),
  });
}
