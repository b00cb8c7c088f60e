/**
 * Wanda-SP (structured Wanda, as in An et al.'s FLAP comparison): |W_ij| · ‖X_j‖₂ summed over the
 * input columns a structure owns in the output projection — a head's o_proj columns, a neuron's
 * down_proj column — with ‖X_j‖₂ over every calibration token.
 */
import { abs, blockSums, columnSums } from './weight-sums.js';
import type { Method } from './types.js';

export const wandaSp: Method = {
  name: 'wanda-sp',
  description: 'structured Wanda: Σ |W| × input-feature L2 norm over each head\'s o_proj columns / neuron\'s down_proj column',
  needsCalibration: true,
  score: ({ spec, layer, weights, stats }) => {
    const { heads, intermediate } = spec.layers[layer];
    const dh = spec.headDim;
    const oCols = columnSums(weights.get('o.weight')!, heads * dh, abs).map((s, j) => s * Math.sqrt(stats.oInSq[j]));
    const downCols = columnSums(weights.get('down.weight')!, intermediate, abs).map((s, j) => s * Math.sqrt(stats.mlpSq[j]));
    return { heads: blockSums(oCols, dh), neurons: downCols };
  },
};
