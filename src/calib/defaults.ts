/**
 * Defaults, and why:
 * - prompts: the first 50 records, as the paper calibrates on the first 50 Alpaca prompts.
 * - windows: 50 windows of 128 tokens (6,400 tokens), about the length of an Alpaca prompt with a
 *   long input, so a window weighs like one of the paper's prompts. The least-squares recovery
 *   would like more: measured on SmolLM2-135M, AMP 20%, lsq, WikiText-2 ppl, built-in text:
 *   50 x 128 = 163.7, 64 x 128 = 156.1, 128 x 128 = 156.1, 256 x 128 = 145.9, 64 x 512 = 144.6,
 *   128 x 512 = 143.6, while scoring alone barely cares (no recovery: 235.8 vs 237.6 at 128 x 512).
 *   64 x 512 costs 5x the tokens, so it is the README's recommendation, not yet the default
 *   (every prune, the test suite's included, would pay it).
 * - records (Alpaca, JSONL) are prompts, as in the paper; running prose (plain text and the
 *   built-in text) has no natural prompt boundaries, so it is cut into windows.
 */
import type { CalibrationFormat, SamplingMode } from './types.js';

export const DEFAULT_PROMPT_SAMPLES = 50;
export const DEFAULT_WINDOW_SAMPLES = 50;
export const DEFAULT_WINDOW_LENGTH = 128;
export const DEFAULT_SEED = 0;

export function defaultSamplingMode(format: CalibrationFormat): SamplingMode {
  return format === 'text' ? 'windows' : 'prompts';
}

export function defaultSamples(mode: SamplingMode): number {
  return mode === 'prompts' ? DEFAULT_PROMPT_SAMPLES : DEFAULT_WINDOW_SAMPLES;
}
