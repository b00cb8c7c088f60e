/**
 * FLAP (An et al., AAAI 2024): fluctuation of each input feature of the output projection across
 * calibration tokens (sample variance) times the squared L2 norm of its weight column, summed per
 * structure. Its bias compensation (removed channels' mean contribution folded into the bias) is
 * applied by the recovery stage: see recover/bias.ts.
 */
import { blockSums, columnSums, square } from './weight-sums.js';
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
    const { heads, intermediate } = spec.layers[layer];
    const dh = spec.headDim;
    const oVar = featureVariance(stats.oInSum, stats.oInSq, stats.tokens);
    const mlpVar = featureVariance(stats.mlpSum, stats.mlpSq, stats.tokens);
    const oCols = columnSums(weights.get('o.weight')!, heads * dh, square).map((s, j) => s * oVar[j]);
    const downCols = columnSums(weights.get('down.weight')!, intermediate, square).map((s, j) => s * mlpVar[j]);
    return { heads: blockSums(oCols, dh), neurons: downCols };
  },
};
