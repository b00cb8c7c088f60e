/** Next-token targets of a padded batch: position t predicts token t + 1 where that token is labelled. */
import type { TokenBatch } from '../engine/batch.js';
import type { LossTargets } from './gradients.js';

/**
 * `labelled[b·T + t]` = 1 when token t of row b is in the loss (a real token; for Alpaca, a
 * response token). Each labelled token gets weight `scale` at the position before it.
 */
export function nextTokenTargets(tokens: TokenBatch, labelled: Uint8Array, scale: number): LossTargets {
  const { batch: B, seqLen: T } = tokens;
  const ids = new Int32Array(B * T);
  const weight = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const next = b * T + t + 1;
      if (!labelled[next] || !tokens.mask[next]) continue;
      ids[b * T + t] = tokens.ids[next];
      weight[b * T + t] = scale;
    }
  }
  return { ids, weight };
}

/** How many tokens of the batch are in the loss. */
export function labelledCount(tokens: TokenBatch, labelled: Uint8Array): number {
  let n = 0;
  for (let b = 0; b < tokens.batch; b++) for (let t = 1; t < tokens.seqLen; t++) n += labelled[b * tokens.seqLen + t] && tokens.mask[b * tokens.seqLen + t] ? 1 : 0;
  return n;
}
