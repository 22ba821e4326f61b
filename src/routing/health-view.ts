/**
 * What the picker reads about endpoint health: local, in-memory, O(1) and allocation-free, because it
 * runs on every attempt. `HealthTracker` (src/health/) implements it.
 */
import type { Endpoint } from '../registry/endpoint.js';

export interface HealthView {
  /** Healthy, or in probation and admitted by its trickle; false when ejected, open, drained or rate-limited. */
  isRoutable(endpoint: Endpoint): boolean;
  /** 0..1: the share of its weight the endpoint gets now (probation ramps it up). */
  weightFactor(endpoint: Endpoint): number;
  /**
   * Load-aware latency score: peak-EWMA of time to first byte × (in-flight + 1), scaled by the server's
   * reported load for `model` where it publishes it (`load/`). Lower is better.
   */
  score(endpoint: Endpoint, model?: string): number;
  /** The server says it is full (queue or KV cache): out of first picks, still a fallback. Absent = never. */
  saturated?(endpoint: Endpoint, model: string | undefined): boolean;
  /**
   * Out by operator intent: drained, or in a fire drill (here or on a peer). Such an endpoint takes no
   * new requests at all: panic, which ignores health, still honours it.
   */
  drained(endpoint: Endpoint): boolean;
}
