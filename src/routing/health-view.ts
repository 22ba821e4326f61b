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
  /** Load-aware latency score: peak-EWMA of time to first byte × (in-flight + 1). Lower is better. */
  score(endpoint: Endpoint): number;
  /** Milliseconds until the endpoint is expected to be routable again (0 when routable). */
  recoveryIn(endpoint: Endpoint): number;
}
