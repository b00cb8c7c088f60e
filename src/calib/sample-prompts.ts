/**
 * The paper's sampling: the first N records, one sequence each, tokenized as the model would
 * tokenize a prompt (default special tokens). The paper does not truncate; `seqLen` is a cap for
 * memory on long records, keeping each prompt's beginning.
 */
import { UserError } from '../errors.js';
import type { CalibrationTokenizer } from './types.js';

export interface PromptSample {
  sequences: number[][];
  recordsUsed: number;
}

export function samplePrompts(
  source: string,
  texts: readonly string[],
  tokenizer: CalibrationTokenizer,
  samples: number,
  seqLen: number | undefined,
): PromptSample {
  if (texts.length < samples) {
    throw new UserError(`${source}: ${texts.length} records, fewer than the ${samples} calibration prompts asked for`);
  }
  const sequences = texts.slice(0, samples).map((text, index) => {
    const ids = tokenizer.encode(text);
    if (ids.length === 0) throw new UserError(`${source}: record ${index + 1} gives no tokens`);
    return seqLen === undefined ? ids : ids.slice(0, seqLen);
  });
  return { sequences, recordsUsed: samples };
}
