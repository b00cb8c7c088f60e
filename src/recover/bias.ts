/**
 * FLAP's bias compensation: each removed input channel j is replaced by its calibration mean, so
 * its average contribution W[:, j]·E[x_j] moves into the bias: b' = b + W_P · mean(x_P). Fixes the
 * mean of the output error only. Where the output cannot store a bias there is nothing to move.
 */
import { removedColumns, sliced } from './slice-columns.js';
import type { RecoveryMethod } from './types.js';

export const bias: RecoveryMethod = {
  name: 'bias',
  description: "FLAP's bias compensation: removed channels' mean contribution moves into the output bias",
  needsGram: false,
  rewrites: ['o.bias', 'down.bias'],
  repair: async (p) => {
    const out = sliced(p);
    if (!out.bias || p.fit.totalWeight === 0) return out;
    const removed = removedColumns(p);
    const n = p.fit.totalWeight;
    for (let r = 0; r < p.outFeatures; r++) {
      const row = r * p.inFeatures;
      let s = 0;
      for (const j of removed) s += p.weight[row + j] * (p.fit.sum[j] / n);
      out.bias[r] += s;
    }
    return out;
  },
};
