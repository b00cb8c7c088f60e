/**
 * The special tokens a tokenizer puts before a text by default (BOS for LLaMA-2/3 and Mistral,
 * nothing for Phi-2 or Qwen2). Windows cut from the middle of a text get them too, so every
 * calibration sequence starts the way a real prompt does: models put large, unusual activations
 * on the first position (attention sinks), and a window without BOS would score them on an
 * ordinary word instead.
 */
import type { CalibrationTokenizer } from './types.js';

const PROBE = 'Calibration text.';

export function specialTokenPrefix(tokenizer: CalibrationTokenizer): number[] {
  const withSpecial = tokenizer.encode(PROBE);
  const plain = tokenizer.encode(PROBE, { addSpecialTokens: false });
  for (let start = 0; start + plain.length <= withSpecial.length; start += 1) {
    if (plain.every((id, i) => withSpecial[start + i] === id)) return withSpecial.slice(0, start);
  }
  // The text's own tokens changed with special tokens on (no known tokenizer does that): add none.
  return [];
}
