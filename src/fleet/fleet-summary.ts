/**
 * A gateway's traffic summary as it travels through the store: per region requests, errors, latency
 * percentiles and in-flight attempts, the gateway's client totals, and its view of each endpoint. Bounded:
 * at most `MAX_REGIONS` regions and `MAX_ENDPOINTS` endpoints, and `MAX_SUMMARY_BYTES` encoded (the
 * endpoint view is left out of a summary that would be larger); a reader refuses anything bigger.
 */
import { z } from 'zod';
import { MAX_BUCKET } from './latency-buckets.js';

export const MAX_SUMMARY_BYTES = 32 * 1024;
export const MAX_REGIONS = 64;
export const MAX_ENDPOINTS = 256;

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ms = z.number().min(0).max(86_400_000).nullable();
const name = z.string().min(1).max(200);
/** Causes of client errors counted per summary (`TrafficTally`'s bound). */
export const MAX_ERROR_CAUSES = 32;

export const regionTrafficSchema = z.object({
  region: name,
  attempts: count,
  errors: count,
  inflight: count,
  p50Ms: ms,
  p99Ms: ms,
  /** The window's time to first byte as shared buckets `[bucket, count]`; absent from older gateways. */
  ttfb: z
    .array(z.tuple([z.number().int().min(0).max(MAX_BUCKET), count]))
    .max(MAX_BUCKET + 1)
    .optional(),
  lastAttemptAt: count.nullable(),
});

export const endpointViewSchema = z.object({
  id: name,
  region: name,
  state: z.string().max(40),
  cause: z.string().max(40).nullable(),
});

export const fleetSummarySchema = z.object({
  gatewayId: name,
  /** Epoch ms of the sender's clock when it was built (shown, never used for expiry). */
  at: count,
  intervalMs: count,
  requests: count,
  clientErrors: count,
  /** The client errors by cause (error code, or `http_<status>`), cumulative; absent from older gateways. */
  clientErrorCauses: z
    // Plain names only: a drill prints them on an operator's terminal.
    .record(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/), count)
    .refine((o) => Object.keys(o).length <= MAX_ERROR_CAUSES, `at most ${MAX_ERROR_CAUSES} causes`)
    .optional(),
  inflight: count,
  /** Time to first byte over the last window, every region together. */
  p50Ms: ms,
  p99Ms: ms,
  regions: z.array(regionTrafficSchema).max(MAX_REGIONS),
  endpoints: z.array(endpointViewSchema).max(MAX_ENDPOINTS),
});

export type FleetSummary = z.infer<typeof fleetSummarySchema>;
export type EndpointView = z.infer<typeof endpointViewSchema>;
