/**
 * Next-token choice from one row of logits: greedy (temperature 0), or sampling at a temperature
 * with nucleus (top-p) truncation, driven by a seeded PRNG so a seed always gives the same text.
 *
 *   logits ─/T─softmax─▶ p ─sort desc─keep the fewest whose mass ≥ top_p─renormalise─▶ draw u ~ U[0,1)
 */
import { mulberry32 } from '../calib/prng.js';

export interface SamplingOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = no truncation. */
  topP: number;
  seed: number;
}

export type Sampler = (logits: Float32Array) => number;

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export function makeSampler(options: SamplingOptions): Sampler {
  if (options.temperature === 0) return argmax;
  const random = mulberry32(options.seed);
  return (logits) => {
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    const probs = new Float64Array(logits.length);
    let total = 0;
    for (let i = 0; i < logits.length; i++) total += probs[i] = Math.exp((logits[i] - max) / options.temperature);
    // Ties broken by id, so the order (and the draw) does not depend on the sort's stability.
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
    let kept = 0;
    let mass = 0;
    while (kept < order.length && (kept === 0 || mass < options.topP * total)) mass += probs[order[kept++]];
    let u = random() * mass;
    for (let k = 0; k < kept; k++) {
      u -= probs[order[k]];
      if (u < 0) return order[k];
    }
    return order[kept - 1];
  };
}
