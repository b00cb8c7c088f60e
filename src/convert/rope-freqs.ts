/**
 * LLaMA-3.1+ rope scaling from a GGUF's rope_freqs.weight. llama.cpp does not store the "llama3"
 * rope_scaling parameters; its converter (LlamaModel.generate_extra_tensors) bakes them into one
 * divisor per frequency instead:
 *
 *   wavelen < orig / high  -> 1        wavelen > orig / low -> factor
 *   otherwise              -> 1 / ((1 - s) / factor + s),   s = (orig / wavelen - low) / (high - low)
 *
 * transformers' GGUF loader ignores the tensor (so its model rotates with plain RoPE); we recover
 * the parameters instead. Only ratios are identifiable, so low_freq_factor is taken as 1 (as in
 * every Meta release): first Meta's own values are tried, else orig and high are solved from two
 * smoothed frequencies. Either way every divisor must be reproduced, or the file is refused.
 */
import { FileError } from '../errors.js';

export interface Llama3RopeScaling {
  rope_type: 'llama3';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
  [key: string]: string | number;
}

const RELATIVE_TOLERANCE = 1e-4;

function divisor(wavelen: number, p: Llama3RopeScaling): number {
  const orig = p.original_max_position_embeddings;
  if (wavelen < orig / p.high_freq_factor) return 1;
  if (wavelen > orig / p.low_freq_factor) return p.factor;
  const smooth = (orig / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
  return 1 / ((1 - smooth) / p.factor + smooth);
}

/** Solves orig and high (low = 1) from two frequencies in the smoothed band. */
function fitted(divisors: Float32Array, wavelens: number[], factor: number): Llama3RopeScaling | undefined {
  // s = (factor / divisor - 1) / (factor - 1) is linear in 1 / wavelen: s = a / wavelen + b.
  const band = [...divisors.keys()].filter((i) => divisors[i] > 1 + RELATIVE_TOLERANCE && divisors[i] < factor * (1 - RELATIVE_TOLERANCE));
  if (band.length < 2) return undefined;
  const [i, j] = [band[0], band[band.length - 1]];
  const smooth = (k: number) => (factor / divisors[k] - 1) / (factor - 1);
  const a = (smooth(i) - smooth(j)) / (1 / wavelens[i] - 1 / wavelens[j]);
  const b = smooth(i) - a / wavelens[i];
  const high = 1 - 1 / b;
  return {
    rope_type: 'llama3',
    factor,
    low_freq_factor: 1,
    high_freq_factor: Math.round(high * 1e4) / 1e4,
    original_max_position_embeddings: Math.round(a * (high - 1)),
  };
}

/** rope_scaling for these divisors, or undefined when they are all 1 (no scaling). */
export function llama3RopeScaling(divisors: Float32Array, ropeTheta: number, headDim: number, file: string): Llama3RopeScaling | undefined {
  if (divisors.length !== headDim / 2) throw new FileError(file, `rope_freqs.weight has ${divisors.length} values for head size ${headDim} (expected ${headDim / 2})`);
  const factor = Math.max(...divisors);
  if (Math.abs(factor - 1) <= RELATIVE_TOLERANCE && Math.min(...divisors) >= 1 - RELATIVE_TOLERANCE) return undefined;
  const wavelens = [...divisors.keys()].map((i) => 2 * Math.PI * ropeTheta ** ((2 * i) / headDim));
  const meta: Llama3RopeScaling = { rope_type: 'llama3', factor, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  for (const candidate of [meta, fitted(divisors, wavelens, factor)]) {
    if (candidate && wavelens.every((w, i) => Math.abs(divisor(w, candidate) - divisors[i]) <= RELATIVE_TOLERANCE * divisors[i])) return candidate;
  }
  throw new FileError(file, 'rope_freqs.weight does not follow LLaMA-3 rope scaling, the only kind supported');
}
