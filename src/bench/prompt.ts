/**
 * Prompt token ids for speed runs. Throughput does not depend on which ids a prompt holds, so
 * prompts are synthetic: deterministic (seeded) uniform ids in [0, vocab), the same on every run
 * and machine, for any length the model accepts — no tokenizer or text file needed.
 */
import { mulberry32, randomBelow } from '../calib/prng.js';

export const PROMPT_IDS_DESCRIPTION = 'synthetic: uniform ids in [0, vocab) from mulberry32(seed = prompt length)';

export function syntheticPrompt(length: number, vocab: number): number[] {
  const random = mulberry32(length);
  return Array.from({ length }, () => randomBelow(random, vocab));
}
