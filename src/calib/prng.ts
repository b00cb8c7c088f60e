/**
 * A tiny seeded PRNG (mulberry32): the same seed gives the same calibration windows on every
 * machine and Node version, which Math.random cannot promise. 32 bits of state is plenty for
 * placing a few hundred windows.
 */

/** Uniform floats in [0, 1) from a 32-bit seed (any integer; only its low 32 bits count). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    return mix(state) / 4294967296;
  };
}

function mix(state: number): number {
  let z = state;
  z = Math.imul(z ^ (z >>> 15), z | 1);
  z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
  return (z ^ (z >>> 14)) >>> 0;
}

/**
 * The first `count` outputs of mulberry32(seed) as 32-bit integers (output · 2³²), in one loop:
 * for bulk draws (dropout masks, millions per layer) where a call per number would dominate.
 */
export function mulberry32Words(seed: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    out[i] = mix(state);
  }
  return out;
}

/** A uniform integer in [0, bound). The modulo-free floor keeps the bias below bound / 2^32. */
export function randomBelow(random: () => number, bound: number): number {
  return Math.floor(random() * bound);
}

/** `count` distinct integers from [0, total), in draw order (a partial Fisher–Yates shuffle). */
export function sampleDistinct(random: () => number, total: number, count: number): number[] {
  const pool = Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < count; i += 1) {
    const j = i + randomBelow(random, total - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}
