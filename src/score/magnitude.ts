/**
 * Magnitude: the L2 norm of all weights a structure owns. A query head owns its q rows and
 * o_proj columns plus a 1/group share of its KV head's k and v rows; a neuron owns its gate/up
 * rows (fc1 for Phi) and its down_proj column. Biases are left out (they are not scaled weights).
 */
import { columnSums, blockSums, rowBlockSums, square } from './weight-sums.js';
import type { Method } from './types.js';

export const magnitude: Method = {
  name: 'magnitude',
  description: 'L2 norm of the weights each head / neuron owns (no calibration data)',
  needsCalibration: false,
  score: ({ spec, layer, weights }) => {
    const { heads, kvHeads } = spec.layers[layer];
    const d = spec.hidden;
    const dh = spec.headDim;
    const get = (n: Parameters<typeof weights.get>[0]) => weights.get(n)!;
    const q = rowBlockSums(get('q.weight'), d, dh, square);
    const k = rowBlockSums(get('k.weight'), d, dh, square);
    const v = rowBlockSums(get('v.weight'), d, dh, square);
    const o = blockSums(columnSums(get('o.weight'), heads * dh, square), dh);
    const group = heads / kvHeads;
    const headScores = Float64Array.from({ length: heads }, (_, h) => {
      const g = Math.floor(h / group);
      return Math.sqrt(q[h] + o[h] + (k[g] + v[g]) / group);
    });
    const m = spec.layers[layer].intermediate;
    const up = rowBlockSums(get('up.weight'), d, 1, square);
    const gate = spec.gatedMlp ? rowBlockSums(get('gate.weight'), d, 1, square) : new Float64Array(m);
    const down = columnSums(get('down.weight'), m, square);
    const neurons = Float64Array.from({ length: m }, (_, i) => Math.sqrt(up[i] + gate[i] + down[i]));
    return { heads: headScores, neurons };
  },
};
