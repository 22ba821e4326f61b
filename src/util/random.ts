/**
 * The injected random source: a function returning a float in [0, 1). Code whose behaviour depends on
 * chance (jitter, power-of-two-choices) takes one so tests can replay a fixed sequence.
 */
export type Random = () => number;

export const systemRandom: Random = Math.random;

/** A seeded, repeatable generator (mulberry32) for tests and simulations. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return function mulberry32(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
