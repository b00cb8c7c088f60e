/** Random importance (seeded): the floor every method must beat. */
import type { Method } from './types.js';

/** splitmix32-style hash of (seed, layer, stream) -> a deterministic PRNG. */
function prng(seed: number, layer: number, stream: number): () => number {
  let state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(layer + 1, 0xc2b2ae35) ^ Math.imul(stream + 1, 0x27d4eb2f)) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

export const random: Method = {
  name: 'random',
  description: 'uniformly random scores (seeded by --seed)',
  needsCalibration: false,
  score: ({ spec, layer, seed }) => {
    const { heads, intermediate } = spec.layers[layer];
    const h = prng(seed, layer, 0);
    const n = prng(seed, layer, 1);
    return { heads: Float64Array.from({ length: heads }, h), neurons: Float64Array.from({ length: intermediate }, n) };
  },
};
