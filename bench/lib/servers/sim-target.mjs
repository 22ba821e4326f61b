/**
 * The SSE target: regiongate's own region simulator (from dist), streaming chat completions of
 * `frames` frames every `intervalMs` ms and serving `/sse-echo?frames=N&interval=MS`.
 */
import { RegionSimulator } from '../../../dist/sim/index.js';

/** @param {{ frames?: number, intervalMs?: number }} opts */
export async function start({ frames = 64, intervalMs = 20 }) {
  const sim = new RegionSimulator({ name: 'bench', tokens: frames, tokenIntervalMs: intervalMs });
  const url = await sim.start();
  return { info: { urls: [url] }, close: () => sim.close() };
}
