/**
 * FLAP (An et al., AAAI 2024): fluctuation of each input feature of the output projection across
 * calibration tokens (sample variance) times the squared L2 norm of its weight column, summed over
 * the columns each structure owns (the ownership table). Its bias compensation (removed
 * channels' mean contribution folded into the bias) is applied by the recovery stage: see
 * recover/bias.ts.
 */
import type { Structure } from '../arch/spec.js';
import { square, weightedColumnScores } from './owned-sums.js';
import { readerInputs } from './stats.js';
import type { Method } from './types.js';

/** Unbiased variance of each feature from running sums over n tokens. */
export function featureVariance(sum: Float64Array, sq: Float64Array, n: number): Float64Array {
  if (n < 2) return new Float64Array(sum.length);
  return sum.map((s, j) => Math.max(0, (sq[j] - (s * s) / n) / (n - 1)));
}

export const flap: Method = {
  name: 'flap',
  description: 'FLAP: input-feature fluctuation × squared weight-column norm, with bias compensation',
  needsCalibration: true,
  defaultRecovery: { recover: 'bias', propagate: 'dense' },
  score: ({ spec, layer, weights, stats }) => {
    const fluctuation = (structure: Structure) => {
      const { sum, sq } = readerInputs(stats, structure);
      return featureVariance(sum, sq, stats.tokens);
    };
    const totals = weightedColumnScores(spec, layer, weights, square, fluctuation);
    return { heads: totals.head, neurons: totals.neuron };
  },
};
