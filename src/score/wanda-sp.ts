/**
 * Wanda-SP (structured Wanda, as in An et al.'s FLAP comparison): |W_ij| · ‖X_j‖₂ summed over the
 * input columns a structure owns in the weight that reads its output (the ownership table: a
 * head's o_proj columns, a neuron's down_proj column), with ‖X_j‖₂ over every calibration token.
 */
import { abs, weightedColumnScores } from './owned-sums.js';
import { readerInputs } from './stats.js';
import type { Method } from './types.js';

export const wandaSp: Method = {
  name: 'wanda-sp',
  description: 'structured Wanda: Σ |W| × input-feature L2 norm over each head\'s o_proj columns / neuron\'s down_proj column',
  needsCalibration: true,
  score: ({ spec, layer, weights, stats }) => {
    const totals = weightedColumnScores(spec, layer, weights, abs, (s) => readerInputs(stats, s).sq.map(Math.sqrt));
    return { heads: totals.head, neurons: totals.neuron };
  },
};
