/**
 * The record a gateway writes into the store's `load` book (field: its gatewayId) at every exchange:
 * that it is live, and the load signals it read itself for the endpoints it owns. Ages are relative (ms
 * since the read, at the write), never timestamps, so the clocks of writer and reader never meet: the
 * reader adds how long the record sat in the store, measured by the store's own clock.
 * Bounded: at most `MAX_SHARED_ENDPOINTS` endpoints and `MAX_SHARED_MODELS` models each, and
 * `MAX_LOAD_RECORD_BYTES` encoded (a record that would be larger sends each endpoint's whole-server
 * total only, then drops endpoints); a reader refuses anything bigger or out of range.
 */
import { z } from 'zod';
import type { LoadSignals } from './engine-metrics.js';

export const MAX_LOAD_RECORD_BYTES = 64 * 1024;
export const MAX_SHARED_ENDPOINTS = 512;
export const MAX_SHARED_MODELS = 64;
/** A shared read older than this is refused outright (it would be stale under any sane `staleAfter`). */
export const MAX_SHARED_AGE_MS = 3_600_000;

const name = z.string().min(1).max(200);
const gauge = z.number().finite().min(0).max(1e9);

const sharedModelSchema = z.strictObject({
  /** '' = the series without a model label. */
  model: z.string().max(200),
  waiting: gauge,
  running: gauge,
  kv: z.number().finite().min(0).max(1).nullable(),
});

const sharedReadSchema = z.strictObject({
  endpoint: name,
  /** The writer's read number for this endpoint: the same read written again is not applied twice. */
  n: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Milliseconds since the read, when the record was written. */
  ageMs: z.number().int().min(0).max(MAX_SHARED_AGE_MS),
  models: z.array(sharedModelSchema).max(MAX_SHARED_MODELS),
});

export const sharedLoadRecordSchema = z.strictObject({
  gatewayId: name,
  /** The lifetime the writer gave the record: the reader's `ttlMs - left` is how long it sat in the store. */
  ttlMs: z.number().int().min(1).max(86_400_000),
  reads: z.array(sharedReadSchema).max(MAX_SHARED_ENDPOINTS),
});

export type SharedLoadRecord = z.infer<typeof sharedLoadRecordSchema>;
export type SharedRead = z.infer<typeof sharedReadSchema>;

/** One endpoint's read as it goes on the wire (the first `MAX_SHARED_MODELS` models). */
export function toSharedRead(endpointId: string, n: number, ageMs: number, byModel: ReadonlyMap<string, LoadSignals>): SharedRead {
  const models = [...byModel].slice(0, MAX_SHARED_MODELS).map(([model, s]) => ({ model, waiting: s.waiting, running: s.running, kv: s.kv ?? null }));
  return { endpoint: endpointId, n, ageMs: Math.max(0, Math.min(MAX_SHARED_AGE_MS, Math.round(ageMs))), models };
}

/** The whole server's load as one unlabelled series (what `LoadBook` sums a read to). */
export function totalOnly(read: SharedRead): SharedRead {
  const total = { model: '', waiting: 0, running: 0, kv: null as number | null };
  for (const m of read.models) {
    total.waiting += m.waiting;
    total.running += m.running;
    if (m.kv !== null) total.kv = Math.max(total.kv ?? 0, m.kv);
  }
  return { ...read, models: [total] };
}

/** A read off the wire as `LoadBook` takes it. */
export function fromSharedRead(read: SharedRead): Map<string, LoadSignals> {
  return new Map(read.models.map((m) => [m.model, { waiting: m.waiting, running: m.running, kv: m.kv ?? undefined }]));
}
