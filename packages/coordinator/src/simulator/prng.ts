/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on
 * every platform, so a simulation with `--seed S` is reproducible.
 */
export type Prng = () => number;

/** Uniform floats in [0, 1) from a 32-bit seed (any number; it is hashed to 32 bits). */
export function createPrng(seed: number): Prng {
  let state = hashSeed(seed);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct indices from [0, n), in random order (partial Fisher–Yates, O(n) memory). */
export function sampleIndices(rng: Prng, n: number, count: number): number[] {
  const k = Math.max(0, Math.min(n, Math.floor(count)));
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = pool[i] as number;
    pool[i] = pool[j] as number;
    pool[j] = t;
  }
  return pool.slice(0, k);
}

function hashSeed(seed: number): number {
  let h = Math.trunc(seed) ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
