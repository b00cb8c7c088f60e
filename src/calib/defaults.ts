/**
 * Defaults, and why:
 * - 50 samples: the paper calibrates on the first 50 Alpaca prompts; windows use the same count so
 *   switching sources does not silently change the cost of the scoring pass.
 * - windows of 128 tokens: about the length of an Alpaca prompt with a long input, so a window
 *   weighs like one of the paper's prompts, and 50 of them (6,400 tokens) score quickly on CPU.
 *   SparseGPT/Wanda use the model's full context (2048), which costs 16x more for little change in
 *   which heads and neurons rank lowest.
 * - records (Alpaca, JSONL) are prompts, as in the paper; running prose (plain text and the
 *   built-in text) has no natural prompt boundaries, so it is cut into windows.
 */
import type { CalibrationFormat, SamplingMode } from './types.js';

export const DEFAULT_SAMPLES = 50;
export const DEFAULT_WINDOW_LENGTH = 128;
export const DEFAULT_SEED = 0;

export function defaultSamplingMode(format: CalibrationFormat): SamplingMode {
  return format === 'text' ? 'windows' : 'prompts';
}
