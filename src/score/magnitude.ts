/**
 * Magnitude: the L2 norm of all weights a structure owns, as the family's ownership table says
 * (q rows and o_proj columns of a head, gate/up rows and the down_proj column of a neuron, fused
 * tensors' parts included). A query head also takes a 1/group share of its KV head's weights (k
 * and v rows): the KV head serves its whole group. Biases are left out (they are not scaled weights).
 */
import { addInto, ownedLineSums, ownedMatrices, perStructure, square, structureTotals } from './owned-sums.js';
import type { Method } from './types.js';

export const magnitude: Method = {
  name: 'magnitude',
  description: 'L2 norm of the weights each head / neuron owns (no calibration data)',
  needsCalibration: false,
  score: ({ spec, layer, weights }) => {
    const squares = structureTotals(spec, layer);
    for (const m of ownedMatrices(spec, layer, weights)) addInto(squares[m.weight.owner.structure], perStructure(ownedLineSums(m, square), m.weight.owner));
    const { heads, kvHeads } = spec.layers[layer];
    const group = heads / kvHeads; // query head h reads KV head floor(h / group) (transformers' repeat_kv)
    return {
      heads: squares.head.map((s, h) => Math.sqrt(s + squares.kvHead[Math.floor(h / group)] / group)),
      neurons: squares.neuron.map(Math.sqrt),
    };
  },
};
