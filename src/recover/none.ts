/** No recovery: the kept columns as they were. */
import { sliced } from './slice-columns.js';
import type { RecoveryMethod } from './types.js';

export const none: RecoveryMethod = {
  name: 'none',
  description: 'slice only (the paper\'s AMP before fine-tuning)',
  needsGram: false,
  rewrites: [],
  repair: async (p) => sliced(p),
};
