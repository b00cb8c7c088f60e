/**
 * AMP (Mugnaini et al., 2025): a head's importance is the mean L1 norm of its contribution to the
 * attention output, a neuron's the mean |activation| entering down_proj; both averaged per
 * prompt, then over prompts (AMP-SPEC). The engine computes the sums; this only reads them.
 */
import type { Method } from './types.js';

export const amp: Method = {
  name: 'amp',
  description: 'AMP: mean L1 norm of each head\'s output contribution; mean |activation| of each MLP neuron',
  needsCalibration: true,
  score: ({ stats }) => ({ heads: Float64Array.from(stats.headL1), neurons: Float64Array.from(stats.neuronAbs) }),
};

/** AMP with the order flipped: prunes the MOST important structures. A sanity check that must hurt. */
export const reversed: Method = {
  name: 'reversed',
  description: 'AMP scores negated (prunes the most important structures; a sanity check)',
  needsCalibration: true,
  score: (ctx) => {
    const s = amp.score(ctx);
    return { heads: s.heads.map((x) => -x), neurons: s.neurons.map((x) => -x) };
  },
};
